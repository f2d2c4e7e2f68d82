package service

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tuku/internal/errs"
)

// Namer builds display names from a template such as
// "{customer}_{date:YYYYMMDD}_{desc}_{seq:02}.{ext}". Fields:
//
//	{customer}       the customer's code (its name when it has no code)
//	{customer_name}  the customer's name
//	{project}        the project's name ("" when none)
//	{date:LAYOUT}    capture date (else upload date); LAYOUT uses YYYY MM DD HH mm ss
//	{desc}           the description, shortened (else the category, else "image")
//	{category}       the category
//	{orig}           the original file name without its extension
//	{seq:0N}         the sequence number per customer, date and description, N digits
//	{ext}            the extension of the stored format (jpg, png, heic…)
//
// Every field's value is made safe for a file name; the result is capped at
// 200 bytes before the extension.
type Namer struct {
	parts  []namePart
	hasSeq bool
}

type namePart struct {
	lit   string // literal text when field == ""
	field string
	arg   string
}

var knownFields = map[string]bool{
	"customer": true, "customer_name": true, "project": true, "date": true, "desc": true,
	"category": true, "orig": true, "seq": true, "ext": true,
}

// ParseNamingTemplate checks and compiles a template.
func ParseNamingTemplate(tmpl string) (*Namer, error) {
	n := &Namer{}
	rest := tmpl
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		lit := rest
		if i >= 0 {
			lit = rest[:i]
		}
		if strings.ContainsAny(lit, `/\:*?"<>|`) {
			return nil, errs.Ef(errs.Invalid, "naming", "naming template %q may not contain / \\ : * ? \" < > |", tmpl)
		}
		if lit != "" {
			n.parts = append(n.parts, namePart{lit: lit})
		}
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, errs.Ef(errs.Invalid, "naming", "naming template %q has an unclosed '{'", tmpl)
		}
		field, arg, _ := strings.Cut(rest[i+1:i+j], ":")
		if !knownFields[field] {
			return nil, errs.Ef(errs.Invalid, "naming", "naming template %q uses unknown field {%s}", tmpl, field)
		}
		switch field {
		case "seq":
			if arg != "" {
				if _, err := strconv.Atoi(arg); err != nil {
					return nil, errs.Ef(errs.Invalid, "naming", "naming template: {seq:%s} needs a number of digits such as {seq:02}", arg)
				}
			}
			n.hasSeq = true
		case "date":
			if arg == "" {
				arg = "YYYYMMDD"
			}
		}
		n.parts = append(n.parts, namePart{field: field, arg: arg})
		rest = rest[i+j+1:]
	}
	return n, nil
}

// NameInput are the values a name is built from.
type NameInput struct {
	CustomerCode string
	CustomerName string
	Project      string
	Date         time.Time
	Desc         string
	Category     string
	Orig         string
	Ext          string
}

// SeqKey is the key of the sequence counter for these values: names that
// differ only in their sequence number share it.
func (n *Namer) SeqKey(customerID string, in NameInput) string {
	var b strings.Builder
	b.WriteString(customerID)
	for _, p := range n.parts {
		if p.field == "seq" || p.field == "" {
			continue
		}
		b.WriteByte(0x1f) // unit separator: never in a name-safe value
		b.WriteString(n.value(p, in, 0))
	}
	return b.String()
}

// HasSeq reports whether the template uses a sequence number.
func (n *Namer) HasSeq() bool { return n.hasSeq }

// Name builds the display name with sequence number seq.
func (n *Namer) Name(in NameInput, seq int) string {
	var b strings.Builder
	extPart := ""
	for i, p := range n.parts {
		if p.field == "" {
			b.WriteString(p.lit)
			continue
		}
		v := n.value(p, in, seq)
		if p.field == "ext" && i == len(n.parts)-1 {
			extPart = v
			continue
		}
		b.WriteString(v)
	}
	stem := truncateUTF8(b.String(), 200)
	if extPart != "" {
		if !strings.HasSuffix(stem, ".") {
			// the template's literal dot was already written before {ext}
			stem = strings.TrimSuffix(stem, ".") + "."
		}
		return stem + extPart
	}
	return stem
}

func (n *Namer) value(p namePart, in NameInput, seq int) string {
	switch p.field {
	case "customer":
		if in.CustomerCode != "" {
			return nameSafe(in.CustomerCode, 40)
		}
		return nameSafe(in.CustomerName, 40)
	case "customer_name":
		return nameSafe(in.CustomerName, 40)
	case "project":
		return nameSafe(in.Project, 40)
	case "date":
		return formatDate(in.Date, p.arg)
	case "desc":
		if d := nameSafe(in.Desc, 24); d != "" {
			return d
		}
		if c := nameSafe(in.Category, 24); c != "" {
			return c
		}
		return "image"
	case "category":
		return nameSafe(in.Category, 24)
	case "orig":
		return nameSafe(in.Orig, 60)
	case "seq":
		if w, err := strconv.Atoi(p.arg); err == nil && w > 0 {
			return fmt.Sprintf("%0*d", w, seq)
		}
		return strconv.Itoa(seq)
	case "ext":
		return nameSafe(in.Ext, 8)
	}
	return ""
}

func formatDate(t time.Time, layout string) string {
	r := strings.NewReplacer("YYYY", "2006", "MM", "01", "DD", "02", "HH", "15", "mm", "04", "ss", "05")
	return nameSafe(t.Format(r.Replace(layout)), 40)
}

// nameSafe turns s into a safe piece of a file name: no path separators,
// control or format characters, or characters Windows forbids; white space
// becomes '-'; at most max runes.
func nameSafe(s string, max int) string {
	var b strings.Builder
	n := 0
	lastDash := false
	for _, r := range strings.TrimSpace(s) {
		if n >= max {
			break
		}
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(`/\:*?"<>|`, r):
			r = '-'
		case unicode.IsSpace(r) || r == '_':
			r = '-'
		}
		if r == '-' {
			if lastDash {
				continue
			}
			lastDash = true
		} else {
			lastDash = false
		}
		b.WriteRune(r)
		n++
	}
	return strings.Trim(b.String(), "-.")
}

// truncateUTF8 cuts s to at most max bytes without splitting a character.
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

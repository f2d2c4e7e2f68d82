package service

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tuku/internal/tuku"
)

func TestCSVSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{`=HYPERLINK("http://x")`, `'=HYPERLINK("http://x")`},
		{"+1+2", "'+1+2"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"\r=1", "'\r=1"},
		{" =1", " =1"}, // only the first character counts
		{"a=1", "a=1"},
		{"'already", "'already"},
		{"张三", "张三"},
	} {
		if got := CSVSafe(c.in); got != c.want {
			t.Errorf("CSVSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestAuditCSVRecord: every column is neutralised and the CSV round-trips
// quotes, commas and newlines.
func TestAuditCSVRecord(t *testing.T) {
	e := tuku.AuditEvent{Seq: 7, Time: time.Date(2026, 5, 1, 2, 3, 4, 5000, time.FixedZone("CST", 8*3600)),
		ActorID: "-1", ActorEmail: "@evil", Action: "customer.create", TargetType: "+t", TargetID: "=1+1",
		CustomerID: "c", Outcome: "ok", IP: "\t1", UserAgent: `=HYPERLINK("http://x","a,b")`, RequestID: "r\nx",
		Detail: `{"name":"=cmd|' /C calc'!A0"}`, PrevHash: "ab", Hash: "cd"}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(auditCSVRecord(&e))
	w.Flush()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %q", err, buf.String())
	}
	want := []string{"7", "2026-04-30T18:03:04.000005Z", "'-1", "'@evil", "customer.create", "'+t", "'=1+1", "c", "ok",
		"'\t1", `'=HYPERLINK("http://x","a,b")`, "r\nx", `{"name":"=cmd|' /C calc'!A0"}`, "ab", "cd"}
	if len(recs[0]) != len(want) || len(want) != len(auditCSVHeader) {
		t.Fatalf("%d columns, want %d", len(recs[0]), len(want))
	}
	for i := range want {
		if recs[0][i] != want[i] {
			t.Errorf("column %s = %q, want %q", auditCSVHeader[i], recs[0][i], want[i])
		}
	}
}

func TestAuditDetail(t *testing.T) {
	if auditDetail(nil) != "" {
		t.Fatal("empty detail not empty")
	}
	got := auditDetail(map[string]string{"b": "2", "a": `x"<y>`})
	if got != `{"a":"x\"\u003cy\u003e","b":"2"}` {
		t.Fatalf("detail %s", got)
	}
	// Long values are capped so the object stays valid JSON under the cap.
	long := strings.Repeat("界", 5000)
	d := auditDetail(map[string]string{"a": long, "b": long, "c": "\xff\xfe bad utf-8"})
	var m map[string]string
	if err := json.Unmarshal([]byte(d), &m); err != nil || len(d) > auditDetailMax {
		t.Fatalf("detail of %d bytes: %v", len(d), err)
	}
	if !utf8.ValidString(m["a"]) || len(m["a"]) > 256 || !strings.HasPrefix(m["c"], "\uFFFD") {
		t.Fatalf("values %q", m)
	}
	if s := auditText("a\x00b"+strings.Repeat("é", 2000), auditDetailMax); strings.Contains(s, "\x00") || len(s) > auditDetailMax || !utf8.ValidString(s) {
		t.Fatalf("auditText kept %d bytes", len(s))
	}
}

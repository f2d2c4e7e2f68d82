// Package errs defines the few kinds of error Tuku distinguishes. Every
// package wraps its failures in one of these kinds (with %w or E), callers
// test them with errors.Is, and exactly one place (httpapi) turns a kind into
// an HTTP status and a public message.
package errs

import (
	"errors"
	"fmt"
)

// Kind is a class of failure. Its value doubles as the stable machine-readable
// error code in API responses.
type Kind string

// The kinds. Their string values are part of the API contract.
const (
	NotFound    Kind = "not_found"
	Invalid     Kind = "invalid"    // the request or its input is malformed
	Permission  Kind = "permission" // authenticated but not allowed
	Unauth      Kind = "unauthenticated"
	Conflict    Kind = "conflict"      // already exists, or a concurrent change won
	TooLarge    Kind = "too_large"     // bytes, pixels or frames over a limit
	Unsupported Kind = "unsupported"   // a format Tuku does not accept
	BadImage    Kind = "invalid_image" // a supported format whose content is corrupt
	RateLimit   Kind = "rate_limited"
	Unavailable Kind = "unavailable" // a dependency is down; retry later
	Internal    Kind = "internal"
)

// Error carries a kind, the operation that failed and a message that is safe
// to show to the person who made the request. Err, if set, is the underlying
// cause; it is logged, never shown.
type Error struct {
	Kind Kind
	Op   string // e.g. "ingest", "blob.put"
	Msg  string // public, human-readable
	Err  error  // internal cause, may be nil
}

func (e *Error) Error() string {
	s := ""
	if e.Op != "" {
		s = e.Op + ": "
	}
	if e.Msg != "" {
		s += e.Msg
	} else {
		s += string(e.Kind)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, errs.NotFound) work for any *Error of that kind.
func (e *Error) Is(target error) bool {
	if k, ok := target.(Kind); ok {
		return e.Kind == k
	}
	return false
}

// Error makes Kind usable as an errors.Is target.
func (k Kind) Error() string { return string(k) }

// E builds an *Error. msg is public; cause (may be nil) is not.
func E(kind Kind, op, msg string, cause error) error {
	return &Error{Kind: kind, Op: op, Msg: msg, Err: cause}
}

// Ef is E with a formatted public message and no cause.
func Ef(kind Kind, op, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
// A nil error has no kind ("").
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return Internal
}

// Message returns the public message of the outermost *Error that has one,
// or a generic message for the kind. It never includes internal causes.
func Message(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Msg != "" {
			return e.Msg
		}
		err = e.Err
	}
	switch KindOf(err) {
	case NotFound:
		return "not found"
	case Invalid:
		return "invalid request"
	case Permission:
		return "permission denied"
	case Unauth:
		return "authentication required"
	case Conflict:
		return "conflict"
	case TooLarge:
		return "too large"
	case Unsupported:
		return "unsupported format"
	case BadImage:
		return "the image is corrupt or truncated"
	case RateLimit:
		return "too many requests"
	case Unavailable:
		return "service unavailable, try again later"
	}
	return "internal error"
}

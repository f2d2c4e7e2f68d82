package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"tuku/internal/errs"
)

// statusClientClosed is logged (and counted) when the client went away
// before the answer; nginx's convention, never seen by anyone.
const statusClientClosed = 499

// Status maps an error to its HTTP status. It is the only place that does.
func Status(err error) int {
	status, _, _ := describe(err)
	return status
}

// describe returns the status, the machine-readable code and the public
// message of an error.
func describe(err error) (int, errs.Kind, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, errs.TooLarge,
			fmt.Sprintf("the request body is larger than the limit of %s", humanBytes(mbe.Limit))
	}
	var me *methodError
	if errors.As(err, &me) {
		return http.StatusMethodNotAllowed, errs.Invalid, errs.Message(me.err)
	}
	kind := errs.KindOf(err)
	if kind == errs.Internal {
		// Plain context errors reach here unwrapped from the stores.
		switch {
		case errors.Is(err, context.Canceled):
			return statusClientClosed, errs.Unavailable, "request canceled"
		case errors.Is(err, context.DeadlineExceeded):
			return http.StatusServiceUnavailable, errs.Unavailable, "the request took too long, try again later"
		}
	}
	status := http.StatusInternalServerError
	switch kind {
	case errs.Invalid:
		status = http.StatusBadRequest
	case errs.Unauth:
		status = http.StatusUnauthorized
	case errs.Permission:
		status = http.StatusForbidden
	case errs.NotFound:
		status = http.StatusNotFound
	case errs.Conflict:
		status = http.StatusConflict
	case errs.TooLarge:
		status = http.StatusRequestEntityTooLarge
	case errs.Unsupported:
		status = http.StatusUnsupportedMediaType
	case errs.BadImage:
		status = http.StatusUnprocessableEntity
	case errs.RateLimit:
		status = http.StatusTooManyRequests
	case errs.Unavailable:
		status = http.StatusServiceUnavailable
	default:
		// Internal, or a kind this table does not know: never show its text.
		return status, errs.Internal, "internal error"
	}
	return status, kind, errs.Message(err)
}

// methodError is a request whose path exists under another method: the
// one status no errs kind stands for.
type methodError struct{ err error }

func (e *methodError) Error() string { return e.err.Error() }
func (e *methodError) Unwrap() error { return e.err }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"` // an errs.Kind
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// writeError answers with err. When the response has already started it
// can only be logged (by finish, from rw.err).
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if rw, ok := w.(*respWriter); ok {
		rw.err = err
		if rw.started() {
			return
		}
	}
	status, kind, msg := describe(err)
	h := w.Header()
	// Headers a handler set for the body it meant to send.
	for _, k := range []string{"Content-Length", "Content-Disposition", "Etag", "Last-Modified", "Content-Encoding", "Content-Range", "Accept-Ranges"} {
		delete(h, k)
	}
	h["Cache-Control"] = hdrNoStore
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="tuku"`)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: string(kind), Message: msg, RequestID: h.Get("X-Request-Id")}})
}

// writeJSON writes v as the whole response. HTML-significant characters
// are escaped (\u003c…), so metadata strings are inert even if sniffed.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errs.E(errs.Internal, "json", "", err)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// decodeJSON reads a JSON request body into v: application/json only
// (which a cross-site HTML form cannot send), at most maxJSONBody bytes,
// no unknown fields, one value.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	const op = "json"
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errs.E(errs.Unsupported, op, "the request body must be application/json", nil)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errs.E(errs.Invalid, op, "invalid JSON body: "+jsonProblem(err), err)
	}
	if dec.More() {
		return errs.E(errs.Invalid, op, "invalid JSON body: more than one value", nil)
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.Kind())
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	// "json: unknown field \"x\"" and the like name only the field.
	return err.Error()
}

package vips

import (
	"errors"

	"tuku/internal/errs"
	"tuku/internal/imaging"
)

// The parent and a worker talk in JSON lines over the worker's stdin and
// stdout, strictly one request then one response. Requests carry file
// paths, never image bytes; the worker writes renditions to the paths the
// parent chose. Both ends are the same binary, so the format needs no
// versioning beyond the handshake's protocol number.

const protocolVersion = 1

// hello is the first message the parent sends.
type hello struct {
	Protocol    int    `json:"protocol"`
	MemoryLimit uint64 `json:"memory_limit"`       // bytes; 0 = none
	TestOps     bool   `json:"test_ops,omitempty"` // allow opCrash/opSleep
}

// helloReply answers hello once libvips is initialised.
type helloReply struct {
	Protocol int     `json:"protocol"`
	Vips     string  `json:"vips"`
	PID      int     `json:"pid"`
	Error    *wError `json:"error,omitempty"`
}

type op string

const (
	opProbe   op = "probe"
	opRender  op = "render"
	opAnalyze op = "analyze"
	// Test-only: honoured only when the hello set TestOps.
	opCrash op = "crash" // abort() inside C, like a decoder crash
	opSleep op = "sleep" // hang for Millis, like a decoder stuck in a loop
	opAlloc op = "alloc" // allocate Bytes through libc, like a bomb
)

type request struct {
	ID     uint64           `json:"id"`
	Op     op               `json:"op"`
	Path   string           `json:"path"`
	Format imaging.Format   `json:"format"`
	Limits imaging.Limits   `json:"limits"`
	Outs   []imaging.Output `json:"outs,omitempty"`
	Millis int              `json:"millis,omitempty"`
	Bytes  int64            `json:"bytes,omitempty"`
}

type response struct {
	ID       uint64             `json:"id"`
	Info     imaging.Info       `json:"info"`
	Rendered []imaging.Rendered `json:"rendered,omitempty"`
	PHash    uint64             `json:"phash,omitempty"`
	Clarity  float64            `json:"clarity,omitempty"`
	Error    *wError            `json:"error,omitempty"`
}

// wError is an errs.Error on the wire: kind and public message, with the
// internal cause flattened to text.
type wError struct {
	Kind  errs.Kind `json:"kind"`
	Msg   string    `json:"msg"`
	Cause string    `json:"cause,omitempty"`
}

func toWire(err error) *wError {
	if err == nil {
		return nil
	}
	w := &wError{Kind: errs.KindOf(err), Msg: errs.Message(err)}
	var e *errs.Error
	if errors.As(err, &e) && e.Err != nil {
		w.Cause = e.Err.Error()
	}
	return w
}

func (w *wError) err(op string) error {
	if w == nil {
		return nil
	}
	var cause error
	if w.Cause != "" {
		cause = errors.New(w.Cause)
	}
	return errs.E(w.Kind, op, w.Msg, cause)
}

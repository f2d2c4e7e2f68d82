package imaging

import (
	"errors"
	"strings"
	"testing"

	"tuku/internal/errs"
)

func TestLimitsCheck(t *testing.T) {
	l := DefaultLimits()
	tests := []struct {
		name string
		info Info
		msg  string // "" = within limits
	}{
		{"12MP photo", Info{Width: 4000, Height: 3000, Frames: 1}, ""},
		{"pixel bomb", Info{Width: 60000, Height: 60000, Frames: 1}, "image dimensions 60000x60000 exceed the limit of 200 megapixels"},
		{"long strip", Info{Width: 40000, Height: 100, Frames: 1}, "exceed the limit of 30000 pixels per side"},
		{"frames", Info{Width: 2000, Height: 2000, Frames: 10000}, "the image has too many frames (10000 or more; the limit is 1000)"},
		{"at the limits", Info{Width: 30000, Height: 6666, Frames: 1000}, ""},
	}
	for _, tt := range tests {
		err := l.Check(tt.info)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, errs.TooLarge) || !strings.Contains(errs.Message(err), tt.msg) {
			t.Errorf("%s: got %v, want TooLarge %q", tt.name, err, tt.msg)
		}
	}
	if err := (Limits{}).Check(Info{Width: 1 << 20, Height: 1 << 20, Frames: 1 << 20}); err != nil {
		t.Errorf("zero limits must not limit: %v", err)
	}
	if err := l.CheckBytes(300 << 20); !errors.Is(err, errs.TooLarge) || !strings.Contains(errs.Message(err), "300.0 MiB, over the limit of 200.0 MiB") {
		t.Errorf("CheckBytes: %v", err)
	}
	if err := l.CheckBytes(1); err != nil {
		t.Errorf("CheckBytes(1): %v", err)
	}
}

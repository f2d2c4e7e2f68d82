package vips

import (
	"encoding/binary"
	"testing"
)

func TestDNLHeight(t *testing.T) {
	// SOI, SOF1 (height 0, width 200), SOS, scan bytes, DNL (200), EOI.
	sof := []byte{0xFF, 0xC1, 0, 11, 8, 0, 0, 0, 200, 1, 1, 0x11, 0}
	sos := []byte{0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0}
	scan := []byte{0x12, 0x34, 0xFF, 0x00, 0x56}
	dnl := []byte{0xFF, 0xDC, 0, 4, 0, 200}
	b := append(append(append(append([]byte{0xFF, 0xD8}, sof...), sos...), scan...), dnl...)
	b = append(b, 0xFF, 0xD9)
	at, h, ok := dnlHeight(b)
	if !ok || h != 200 || binary.BigEndian.Uint16(b[at:]) != 0 || at != 2+5 {
		t.Fatalf("dnlHeight = %d, %d, %v", at, h, ok)
	}
	// A frame with a height needs nothing.
	withH := append([]byte{}, b...)
	withH[2+5], withH[2+6] = 0, 100
	if _, _, ok := dnlHeight(withH); ok {
		t.Error("frame with a height reported as DNL")
	}
	// Truncated files, garbage, no DNL marker.
	for n := 0; n < len(b)-8; n++ {
		if _, _, ok := dnlHeight(b[:n]); ok {
			t.Errorf("truncated to %d bytes: reported ok", n)
		}
	}
	if _, _, ok := dnlHeight([]byte("not a jpeg")); ok {
		t.Error("garbage reported ok")
	}
}

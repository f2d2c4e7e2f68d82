package imaging

import (
	"errors"
	"strings"
	"testing"

	"tuku/internal/errs"
)

func TestSniff(t *testing.T) {
	ftyp := func(major string, compat ...string) []byte {
		b := []byte{0, 0, 0, byte(16 + 4*len(compat))}
		b = append(b, "ftyp"+major+"\x00\x00\x00\x00"...)
		for _, c := range compat {
			b = append(b, c...)
		}
		return append(b, "\x00\x00\x00\x08meta"...)
	}
	tests := []struct {
		name string
		head []byte
		want Format
		kind errs.Kind
		msg  string // substring of the public message
	}{
		{"jpeg", []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF"), JPEG, "", ""},
		{"jpeg polyglot COM", []byte("\xFF\xD8\xFF\xFE\x00\x6b<html>"), JPEG, "", ""},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), PNG, "", ""},
		{"gif87a", []byte("GIF87a\x01\x00"), GIF, "", ""},
		{"gif89a", []byte("GIF89a\x01\x00"), GIF, "", ""},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), WebP, "", ""},
		{"tiff le", []byte("II*\x00\x08\x00\x00\x00"), TIFF, "", ""},
		{"tiff be", []byte("MM\x00*\x00\x00\x00\x08"), TIFF, "", ""},
		{"bigtiff", []byte("II+\x00\x08\x00\x00\x00"), TIFF, "", ""},
		{"cr2", []byte("II*\x00\x10\x00\x00\x00CR\x02\x00"), "", errs.Unsupported, "camera raw"},
		{"heic", ftyp("heic", "mif1", "heic"), HEIF, "", ""},
		{"heix", ftyp("heix", "mif1"), HEIF, "", ""},
		{"hevc sequence", ftyp("hevc", "msf1"), HEIF, "", ""},
		{"mif1 plain", ftyp("mif1", "heic"), HEIF, "", ""},
		{"mif1 no compat", ftyp("mif1"), HEIF, "", ""},
		{"msf1", ftyp("msf1"), HEIF, "", ""},
		{"avif", ftyp("avif", "avif", "mif1", "miaf"), AVIF, "", ""},
		{"avis", ftyp("avis", "msf1"), AVIF, "", ""},
		{"mif1 with avif compat", ftyp("mif1", "avif", "miaf"), AVIF, "", ""},
		{"iphone brands", ftyp("heic", "mif1", "MiHE", "MiPr", "miaf", "MiHB", "heic"), HEIF, "", ""},
		{"mp4", ftyp("isom", "isom", "iso2", "mp41"), "", errs.Unsupported, "video"},
		{"quicktime", ftyp("qt  ", "qt  "), "", errs.Unsupported, "QuickTime"},
		{"empty", nil, "", errs.Invalid, "empty file"},
		{"pdf", []byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3"), "", errs.Unsupported, "PDF"},
		{"svg", []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<svg xmlns="), "", errs.Unsupported, "SVG/XML"},
		{"svg bare", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">`), "", errs.Unsupported, "SVG/XML"},
		{"html", []byte("<!DOCTYPE html>\n<html><head><title>x"), "", errs.Unsupported, "HTML"},
		{"html lower script", []byte("  <script>alert(1)</script>"), "", errs.Unsupported, "HTML"},
		{"text", []byte("This is not an image.\nIt is a text file."), "", errs.Unsupported, "plain text"},
		{"utf8 text cut mid rune", append([]byte("照片"), 0xE7, 0x85), "", errs.Unsupported, "plain text"},
		{"bmp", []byte("BM\x36\x00\x0c\x00\x00\x00"), "", errs.Unsupported, "BMP"},
		{"zip", []byte("PK\x03\x04\x14\x00"), "", errs.Unsupported, "ZIP"},
		{"binary junk", []byte{0x00, 0x01, 0x02, 0x03, 0xFE}, "", errs.Unsupported, "not supported"},
		{"jpeg too short", []byte{0xFF, 0xD8}, "", errs.Unsupported, "not supported"},
		{"riff not webp", []byte("RIFF\x24\x00\x00\x00AVI LIST"), "", errs.Unsupported, "RIFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(tt.head)
			if tt.kind == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Sniff = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Sniff = %q, %v; want kind %s", got, err, tt.kind)
			}
			msg := errs.Message(err)
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
			if tt.kind == errs.Unsupported && !strings.Contains(msg, "Tuku accepts JPEG") {
				t.Errorf("message %q does not list the accepted formats", msg)
			}
		})
	}
}

// TestSniffLongHead checks that bytes past SniffLen do not change the answer.
func TestSniffLongHead(t *testing.T) {
	head := []byte("This is plain text" + strings.Repeat(" ", SniffLen) + "<html>")
	_, err := Sniff(head)
	if msg := errs.Message(err); !strings.Contains(msg, "plain text") {
		t.Fatalf("message %q, want plain text (bytes past SniffLen must be ignored)", msg)
	}
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\xFF\xD8\xFF\xE0"))
	f.Add([]byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00avif"))
	f.Fuzz(func(t *testing.T, head []byte) {
		got, err := Sniff(head)
		if err != nil {
			if got != "" {
				t.Fatalf("format %q with error %v", got, err)
			}
			if k := errs.KindOf(err); k != errs.Unsupported && k != errs.Invalid {
				t.Fatalf("unexpected kind %s", k)
			}
			return
		}
		if got.MIME() == "application/octet-stream" {
			t.Fatalf("unknown format %q", got)
		}
		// The answer depends on the first SniffLen bytes only.
		if len(head) > SniffLen {
			again, err2 := Sniff(head[:SniffLen])
			if again != got || err2 != nil {
				t.Fatalf("Sniff(head[:%d]) = %q, %v; Sniff(head) = %q", SniffLen, again, err2, got)
			}
		}
	})
}

package extract

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hash/crc32"

	"tuku/internal/errs"
)

func TestParseDateTime(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2008:05:30 15:56:01", "2008-05-30T15:56:01"},
		{"2008:05:30 15:56:01.123", "2008-05-30T15:56:01"}, // sub-seconds dropped
		{"2008-05-30T15:56:01", "2008-05-30T15:56:01"},
		{"  2008:05:30 15:56:01  ", "2008-05-30T15:56:01"},
		{"2024:02:29 00:00:00", "2024-02-29T00:00:00"}, // leap day
		{"2026:11:24 14:41:16", "2026-11-24T14:41:16"}, // future: kept
		{"2023:02:29 12:00:00", ""},                    // no such day
		{"2008:13:01 00:00:00", ""},                    // month 13
		{"9999:99:99 99:99:99", ""},
		{"0000:00:00 00:00:00", ""},
		{":  :     :  :", ""},
		{"    :  :     :  :  ", ""},
		{"", ""},
		{"2008:05:30 24:00:00", ""},
		{"2008:05:30 23:60:00", ""},
		{"2008:05-30 15:56:01", ""},
		{"2008:05:30", ""},
		{"20O8:05:30 15:56:01", ""},
	} {
		if got := parseDateTime(c.in); got != c.want {
			t.Errorf("parseDateTime(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTakenAtOffset(t *testing.T) {
	for _, c := range []struct{ dto, off, want string }{
		{"2022:08:14 14:12:31", "+03:00", "2022-08-14T14:12:31+03:00"},
		{"2021:04:11 15:47:53", "-05:00", "2021-04-11T15:47:53-05:00"},
		{"2021:04:11 15:47:53", "+05:45", "2021-04-11T15:47:53+05:45"},
		{"2021:04:11 15:47:53", "+14:00", "2021-04-11T15:47:53+14:00"},
		{"2021:04:11 15:47:53", "", "2021-04-11T15:47:53"},
		{"2021:04:11 15:47:53", "+99:99", "2021-04-11T15:47:53"},
		{"2021:04:11 15:47:53", "+15:00", "2021-04-11T15:47:53"},
		{"2021:04:11 15:47:53", "+0300", "2021-04-11T15:47:53"},
		{"2021:04:11 15:47:53", "Z", "2021-04-11T15:47:53"},
		{"2021:04:11 15:47:53", "   :  ", "2021-04-11T15:47:53"},
		{"9999:99:99 99:99:99", "+03:00", ""}, // offset never alone
	} {
		if got := takenAt(c.dto, c.off); got != c.want {
			t.Errorf("takenAt(%q, %q) = %q, want %q", c.dto, c.off, got, c.want)
		}
	}
}

func TestGPS(t *testing.T) {
	dms := func(d, m, s float64) []rational { return []rational{{d, 1}, {m, 1}, {s * 100, 100}} }
	for _, c := range []struct {
		name           string
		lat            []rational
		latRef         string
		lon            []rational
		lonRef         string
		wantLat, wantL float64
		wantNil        bool
	}{
		{"north east", dms(41, 51, 10.8), "N", dms(12, 29, 19.8), "E", 41.853, 12.4888333, false},
		{"south", []rational{{0, 1}, {2227800, 100000}, {0, 1}}, "S", dms(36, 3, 23.1), "E", -0.3713, 36.0564167, false},
		{"west", dms(54, 59, 22.8), "N", dms(1, 54, 51), "W", 54.9896667, -1.9141667, false},
		{"zero zero kept", dms(0, 0, 0), "N", dms(0, 0, 0), "E", 0, 0, false},
		{"no ref means N/E", dms(10, 0, 0), "", dms(20, 0, 0), "", 10, 20, false},
		{"0/0 seconds count as 0", []rational{{10, 1}, {30, 1}, {0, 0}}, "N", dms(20, 0, 0), "E", 10.5, 20, false},
		{"degrees only", []rational{{455, 10}}, "N", []rational{{9, 1}}, "E", 45.5, 9, false},
		{"lat over 90", dms(123, 27, 21.6), "N", dms(10, 0, 0), "E", 0, 0, true},
		{"lon over 180", dms(10, 0, 0), "N", dms(999, 30, 0), "E", 0, 0, true},
		{"n/0 is infinite", []rational{{1, 0}}, "N", dms(10, 0, 0), "E", 0, 0, true},
		{"missing lon", dms(10, 0, 0), "N", nil, "", 0, 0, true},
		{"missing lat", nil, "", dms(10, 0, 0), "E", 0, 0, true},
		{"NaN float", []rational{{math.NaN(), 1}}, "N", dms(10, 0, 0), "E", 0, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := gpsFrom(c.lat, c.latRef, c.lon, c.lonRef)
			if c.wantNil {
				if g != nil {
					t.Fatalf("got %+v, want nil", *g)
				}
				return
			}
			if g == nil {
				t.Fatal("got nil")
			}
			if math.Abs(g.Lat-c.wantLat) > 1e-6 || math.Abs(g.Lon-c.wantL) > 1e-6 {
				t.Errorf("got %v,%v want %v,%v", g.Lat, g.Lon, c.wantLat, c.wantL)
			}
		})
	}
}

func TestOrientation(t *testing.T) {
	for v, want := range map[int64]int{0: 0, 1: 1, 6: 6, 8: 8, 9: -1, -1: -1, 65535: -1} {
		got := -1
		if o := orientation(v); o != nil {
			got = *o
		}
		if got != want {
			t.Errorf("orientation(%d) = %d, want %d (-1 = absent)", v, got, want)
		}
	}
}

func TestCapText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"张三", 6, "张三"},
		{"张三", 5, "张"}, // never half a character
		{"张三", 4, "张"},
		{"张三", 3, "张"},
		{"张三", 2, ""},
		{"a😀", 4, "a"},
	} {
		got := capText(c.in, c.max)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("capText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
	long := strings.Repeat("照片", MaxText)
	if got := cleanText(long); len(got) > MaxText || !utf8.ValidString(got) || len(got) < MaxText-3 {
		t.Errorf("cleanText of %d bytes gave %d bytes", len(long), len(got))
	}
}

func TestCleanText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"  Canon \x00", "Canon"},
		{"a\x01b\x7fc", "abc"},
		{"line1\r\nline2\tx", "line1\nline2\tx"},
		{"<b>Evil</b> Corp", "<b>Evil</b> Corp"}, // literal, not escaped
		{"\xff\xfe", "\uFFFD"},
		{"\uFEFFbom", "bom"},
	} {
		if got := cleanText(c.in); got != c.want {
			t.Errorf("cleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDecodeText(t *testing.T) {
	gbk := []byte{0xd5, 0xc5, 0xc8, 0xfd} // 张三 in GBK
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"ascii", []byte("Canon"), "Canon"},
		{"utf8", []byte("张三"), "张三"},
		{"gbk", gbk, "张三"},
		{"gbk with ascii", append([]byte("IMG "), gbk...), "IMG 张三"},
		{"latin1 single accents", []byte("Cr\xe8me br\xfbl\xe9e"), "Crème brûlée"},
		{"latin1 accent before ascii", []byte("caf\xe9s"), "cafés"},
		{"latin1 odd run", []byte("Gr\xfc\xdf\xe9"), "Grüßé"},
	} {
		if got := decodeText(c.in); got != c.want {
			t.Errorf("%s: decodeText(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
	if got := decodeUTF16LE([]byte{0x2d, 0x4e, 0x87, 0x65, 0x3b, 0x00, 0x41, 0x00, 0, 0, 0x42, 0}); got != "中文;A" {
		t.Errorf("decodeUTF16LE = %q", got)
	}
}

func TestPlaceholder(t *testing.T) {
	for _, c := range []struct {
		desc, make, model string
		want              bool
	}{
		{"OLYMPUS DIGITAL CAMERA", "OLYMPUS", "C4040Z", true},
		{"KONICA MINOLTA DIGITAL CAMERA", "", "", true},
		{"SANYO DIGITAL CAMERA", "", "", true},
		{"SAMSUNG", "SAMSUNG", "GT-I9000", true},
		{"<Digimax i50 MP3, Samsung #1 MP3>", "Samsung Techwin", "<Digimax i50 MP3, Samsung #1 MP3>", true},
		{"   ", "", "", true},
		{"----", "", "", true},
		{"El cielo sobre Berlin", "Canon", "G9", false},
		{"工地现场照片", "", "", false},
		{"A portrait with a digital camera in the studio at night", "", "", false},
	} {
		if got := isPlaceholder(c.desc, c.make, c.model); got != c.want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", c.desc, got, c.want)
		}
	}
}

func TestKeywordSet(t *testing.T) {
	var k keywordSet
	k.addSplit("客户A; ;产品;;Keyword ")
	k.add(" 产品 ")
	k.add("keyword")
	k.add("")
	k.add("现场")
	want := []string{"客户A", "产品", "Keyword", "现场"}
	if !slices.Equal(k.list, want) {
		t.Errorf("got %q, want %q", k.list, want)
	}
	for i := range 2 * maxKeywords {
		k.add(strings.Repeat("k", i+1))
	}
	if len(k.list) != maxKeywords {
		t.Errorf("%d keywords kept, want the cap %d", len(k.list), maxKeywords)
	}
}

// tiffBuilder writes a little-endian TIFF/EXIF block for tests.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte // value bytes; placed inline or after the IFDs
	rawOff   *uint32
}

func ascii(tag uint16, s string) tiffEntry {
	return tiffEntry{tag: tag, typ: 2, count: uint32(len(s) + 1), data: append([]byte(s), 0)}
}

func short(tag uint16, v uint16) tiffEntry {
	return tiffEntry{tag: tag, typ: 3, count: 1, data: binary.LittleEndian.AppendUint16(nil, v)}
}

func rationals(tag uint16, vs ...uint32) tiffEntry {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return tiffEntry{tag: tag, typ: 5, count: uint32(len(vs) / 2), data: b}
}

// buildTIFF lays out IFD0, then an Exif IFD and a GPS IFD when given,
// then all out-of-line values.
func buildTIFF(ifd0, exif, gps []tiffEntry) []byte {
	ifds := [][]tiffEntry{ifd0}
	if exif != nil {
		ifd0 = append(ifd0, tiffEntry{tag: tagExifIFD, typ: 4, count: 1})
		ifds[0] = ifd0
		ifds = append(ifds, exif)
	}
	if gps != nil {
		ifd0 = append(ifd0, tiffEntry{tag: tagGPSIFD, typ: 4, count: 1})
		ifds[0] = ifd0
		ifds = append(ifds, gps)
	}
	ifdOff := make([]uint32, len(ifds))
	off := uint32(8)
	for i, d := range ifds {
		ifdOff[i] = off
		off += 2 + 12*uint32(len(d)) + 4
	}
	b := []byte("II*\x00")
	b = binary.LittleEndian.AppendUint32(b, 8)
	var tail []byte
	for _, d := range ifds {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(d)))
		for _, e := range d {
			b = binary.LittleEndian.AppendUint16(b, e.tag)
			b = binary.LittleEndian.AppendUint16(b, e.typ)
			b = binary.LittleEndian.AppendUint32(b, e.count)
			var v [4]byte
			switch {
			case e.rawOff != nil:
				binary.LittleEndian.PutUint32(v[:], *e.rawOff)
			case e.tag == tagExifIFD && e.data == nil:
				binary.LittleEndian.PutUint32(v[:], ifdOff[1])
			case e.tag == tagGPSIFD && e.data == nil:
				binary.LittleEndian.PutUint32(v[:], ifdOff[len(ifdOff)-1])
			case len(e.data) <= 4:
				copy(v[:], e.data)
			default:
				binary.LittleEndian.PutUint32(v[:], off+uint32(len(tail)))
				tail = append(tail, e.data...)
			}
			b = append(b, v[:]...)
		}
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return append(b, tail...)
}

// jpegWithEXIF wraps a TIFF block in a minimal JPEG header (SOI, APP1, SOS).
func jpegWithEXIF(tiff []byte) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(tiff)+8))
	b = append(b, "Exif\x00\x00"...)
	b = append(b, tiff...)
	return append(b, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9)
}

func TestSyntheticEXIF(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	gbkDesc := []byte{0xb9, 0xa4, 0xb5, 0xd8, 0x00} // 工地 in GBK
	xp := []byte{0x2d, 0x4e, 0x87, 0x65, 0x3b, 0x00, 0x41, 0x00, 0x00, 0x00}
	full := buildTIFF(
		[]tiffEntry{
			ascii(tagMake, "  Canon  "), ascii(tagModel, "ION230\x00F"), short(tagOrientation, 6),
			{tag: tagImageDescription, typ: 2, count: uint32(len(gbkDesc)), data: gbkDesc},
			ascii(tagArtist, strings.Repeat("A", 3*MaxText)),
			{tag: tagCopyright, typ: 2, count: 12, data: []byte("Photog\x00Edit\x00")},
			{tag: tagXPKeywords, typ: 1, count: uint32(len(xp)), data: xp},
		},
		[]tiffEntry{ascii(tagDateTimeOriginal, "2011:05:06 09:59:48"), ascii(tagOffsetTimeOriginal, "-05:00")},
		[]tiffEntry{ascii(tagGPSLatitudeRef, "S"), rationals(tagGPSLatitude, 33, 1, 52, 1, 0, 1),
			ascii(tagGPSLongitudeRef, "E"), rationals(tagGPSLongitude, 151, 1, 12, 1, 3000, 100)},
	)
	for _, c := range []struct {
		name  string
		file  []byte
		check func(t *testing.T, md *Metadata)
	}{
		{"full", jpegWithEXIF(full), func(t *testing.T, md *Metadata) {
			if md.Make != "Canon" || md.Model != "ION230" || md.Orientation == nil || *md.Orientation != 6 {
				t.Errorf("make %q model %q orientation %v", md.Make, md.Model, md.Orientation)
			}
			if md.Description != "工地" {
				t.Errorf("description %q", md.Description)
			}
			if md.TakenAt != "2011-05-06T09:59:48-05:00" {
				t.Errorf("taken %q", md.TakenAt)
			}
			if md.GPS == nil || math.Abs(md.GPS.Lat+33.8666667) > 1e-6 || math.Abs(md.GPS.Lon-151.2083333) > 1e-6 {
				t.Errorf("gps %+v", md.GPS)
			}
			if len(md.Artist) != MaxText {
				t.Errorf("artist is %d bytes, want capped to %d", len(md.Artist), MaxText)
			}
			if md.Copyright != "Photog - Edit" {
				t.Errorf("copyright %q", md.Copyright)
			}
			if !slices.Equal(md.Keywords, []string{"中文", "A"}) {
				t.Errorf("keywords %q", md.Keywords)
			}
		}},
		{"ifd0 points at itself", jpegWithEXIF(buildTIFF([]tiffEntry{
			ascii(tagMake, "Loop"), {tag: tagExifIFD, typ: 4, count: 1, rawOff: u32(8)}, {tag: tagGPSIFD, typ: 4, count: 1, rawOff: u32(8)},
		}, nil, nil)), func(t *testing.T, md *Metadata) {
			if md.Make != "Loop" || md.GPS != nil || md.TakenAt != "" {
				t.Errorf("got %+v", md)
			}
		}},
		{"offsets past the end and huge counts", jpegWithEXIF(buildTIFF([]tiffEntry{
			{tag: tagMake, typ: 2, count: 0xFFFFFFFF, rawOff: u32(0xFFFFFFF0)},
			{tag: tagModel, typ: 2, count: 100, rawOff: u32(0x7FFFFFFF)},
			{tag: tagExifIFD, typ: 4, count: 1, rawOff: u32(0xFFFFFFF0)},
			short(tagOrientation, 3),
		}, nil, nil)), func(t *testing.T, md *Metadata) {
			if md.Make != "" || md.Model != "" || md.Orientation == nil || *md.Orientation != 3 {
				t.Errorf("got %+v", md)
			}
		}},
		{"unknown entry type does not stop the IFD", jpegWithEXIF(buildTIFF([]tiffEntry{
			{tag: 0x9999, typ: 0, count: 5},
			ascii(tagMake, "SONY"),
		}, []tiffEntry{{tag: 0x1234, typ: 99, count: 1}, ascii(tagDateTimeOriginal, "2010:05:15 17:12:05")}, nil)), func(t *testing.T, md *Metadata) {
			if md.Make != "SONY" || md.TakenAt != "2010-05-15T17:12:05" {
				t.Errorf("got %+v", md)
			}
		}},
		{"orientation as LONG and out of range", jpegWithEXIF(buildTIFF([]tiffEntry{
			{tag: tagOrientation, typ: 4, count: 1, data: binary.LittleEndian.AppendUint32(nil, 9)},
		}, nil, nil)), func(t *testing.T, md *Metadata) {
			if md.Orientation != nil {
				t.Errorf("orientation %d", *md.Orientation)
			}
		}},
		{"big-endian", jpegWithEXIF(bigEndianMake("Nikon")), func(t *testing.T, md *Metadata) {
			if md.Make != "Nikon" {
				t.Errorf("make %q", md.Make)
			}
		}},
		{"truncated", jpegWithEXIF(full[:40]), func(t *testing.T, md *Metadata) {}},
		{"not tiff", jpegWithEXIF([]byte("XX*\x00garbage")), func(t *testing.T, md *Metadata) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			md, err := Extract(context.Background(), bytes.NewReader(c.file), "jpeg")
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, md)
			assertCapped(t, md)
		})
	}
}

func bigEndianMake(s string) []byte {
	b := []byte("MM\x00*")
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, tagMake)
	b = binary.BigEndian.AppendUint16(b, 2)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)+1))
	b = binary.BigEndian.AppendUint32(b, 26)
	b = binary.BigEndian.AppendUint32(b, 0)
	return append(append(b, s...), 0)
}

// TestFixtures reads small files written by exiftool 12.57 (see
// testdata/README): Chinese text in every source and IPTC in three
// encodings.
func TestFixtures(t *testing.T) {
	for _, c := range []struct {
		file      string
		want      Metadata
		wantGPS   [2]float64
		checkMore bool
	}{
		{"cn.jpg", Metadata{
			Orientation: ip(8), Make: "华为", Model: "P30", TakenAt: "2024-02-29T23:59:59+08:00",
			// ImageDescription is the Olympus placeholder, so XMP wins.
			Description: "XMP说明 of 张三", Artist: "张三", Copyright: "© 2024 张三",
			Keywords: []string{"客户A", "产品", "Keyword", "张三", "现场"},
		}, [2]float64{31.2304, 121.4737}, true},
		{"iptc-undeclared.jpg", Metadata{Orientation: ip(1), Description: "未声明的说明", Keywords: []string{"工地", "café"}}, [2]float64{}, false},
		{"iptc-latin1.jpg", Metadata{Orientation: ip(1), Description: "Crème brûlée", Keywords: []string{"café"}}, [2]float64{}, false},
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			md, err := Extract(context.Background(), bytes.NewReader(b), "jpeg")
			if err != nil {
				t.Fatal(err)
			}
			gps := md.GPS
			md.GPS = nil
			if !equalMetadata(*md, c.want) {
				t.Errorf("got  %+v\nwant %+v", *md, c.want)
			}
			if c.checkMore {
				if gps == nil || math.Abs(gps.Lat-c.wantGPS[0]) > 1e-6 || math.Abs(gps.Lon-c.wantGPS[1]) > 1e-6 {
					t.Errorf("gps %+v", gps)
				}
			} else if gps != nil {
				t.Errorf("gps %+v, want none", gps)
			}
		})
	}
}

// equalMetadata compares everything but the stored size (checked by the
// corpus test against exiftool).
func equalMetadata(a, b Metadata) bool {
	return ptrEq(a.Orientation, b.Orientation) &&
		a.TakenAt == b.TakenAt && a.GPS == b.GPS && a.Make == b.Make && a.Model == b.Model &&
		a.Description == b.Description && a.Copyright == b.Copyright && a.Artist == b.Artist &&
		slices.Equal(a.Keywords, b.Keywords)
}

func TestHEIFBoxes(t *testing.T) {
	box := func(typ string, body ...[]byte) []byte {
		n := 8
		for _, p := range body {
			n += len(p)
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(n))
		b = append(b, typ...)
		for _, p := range body {
			b = append(b, p...)
		}
		return b
	}
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	fb := []byte{0, 0, 0, 0} // FullBox version 0, flags 0
	ispe := func(w, h uint32) []byte { return box("ispe", fb, u32(w), u32(h)) }
	// Item 2 is primary; property 1 is a thumbnail ispe, 2 the primary's,
	// 3 an irot that must not swap the stored size.
	meta := box("meta", fb,
		box("hdlr", fb, u32(0), []byte("pict"), make([]byte, 13)),
		box("pitm", fb, u16(2)),
		box("iprp",
			box("ipco", ispe(320, 240), ispe(4032, 3024), box("irot", []byte{1})),
			box("ipma", fb, u32(2), u16(1), []byte{1, 0x81}, u16(2), []byte{2, 0x82, 0x03})),
	)
	file := append(box("ftyp", []byte("heic"), u32(0), []byte("mif1heic")), meta...)
	md, err := Extract(context.Background(), bytes.NewReader(file), "heif")
	if err != nil {
		t.Fatal(err)
	}
	if md.Width != 4032 || md.Height != 3024 {
		t.Errorf("size %dx%d, want the primary's ispe 4032x3024 as stored", md.Width, md.Height)
	}
	// Truncations of a valid file must never panic or invent a size.
	for i := range len(file) {
		md, _ := Extract(context.Background(), bytes.NewReader(file[:i]), "heif")
		if md == nil || (md.Width != 0 && md.Width != 4032) {
			t.Fatalf("truncated at %d: %+v", i, md)
		}
	}
}

func TestPNGTailEXIF(t *testing.T) {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32IEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	idat := bytes.Repeat([]byte("eXIf"), 100) // decoy bytes inside image data
	exif := bigEndianMake("Fuji")
	png := []byte("\x89PNG\r\n\x1a\n")
	png = append(png, chunk("IHDR", ihdr)...)
	png = append(png, chunk("IDAT", idat)...)
	png = append(png, chunk("eXIf", exif)...)
	png = append(png, chunk("tEXt", []byte("date:create\x002020"))...)
	png = append(png, chunk("IEND", nil)...)
	md, err := Extract(context.Background(), bytes.NewReader(png), "png")
	if err != nil {
		t.Fatal(err)
	}
	if md.Make != "Fuji" {
		t.Errorf("make %q, want eXIf after IDAT to be found", md.Make)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Extract(context.Background(), bytes.NewReader([]byte("x")), "bmp"); !errors.Is(err, errs.Unsupported) {
		t.Errorf("unknown format: %v, want Unsupported", err)
	}
	if _, err := Extract(context.Background(), nil, "jpeg"); !errors.Is(err, errs.Invalid) {
		t.Errorf("nil reader: %v, want Invalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	md, err := Extract(ctx, bytes.NewReader(jpegWithEXIF(bigEndianMake("X"))), "jpeg")
	if !errors.Is(err, context.Canceled) || md == nil {
		t.Errorf("cancelled: md %v err %v, want partial result and context.Canceled", md, err)
	}
	// Every format on empty and one-byte input: nothing, no error.
	for _, f := range []string{"jpeg", "png", "webp", "gif", "heif", "avif", "tiff"} {
		for _, in := range [][]byte{nil, {0}} {
			md, err := Extract(context.Background(), bytes.NewReader(in), f)
			if err != nil || md == nil {
				t.Errorf("%s %q: %v %v", f, in, md, err)
			}
		}
	}
}

// TestTimeBudget feeds a JPEG with 100,000 empty APP segments before any
// scan: Extract must stop at its segment cap, quickly.
func TestTimeBudget(t *testing.T) {
	// A JPEG with thousands of tiny APP segments before any SOS.
	b := []byte{0xFF, 0xD8}
	for range 100000 {
		b = append(b, 0xFF, 0xE5, 0x00, 0x02)
	}
	start := time.Now()
	md, _ := Extract(context.Background(), bytes.NewReader(b), "jpeg")
	if d := time.Since(start); d > time.Second || md == nil {
		t.Errorf("took %v", d)
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// TestFormats reads the same metadata from each container (testdata/README).
func TestFormats(t *testing.T) {
	for _, c := range []struct{ file, format string }{
		{"seed.png", "png"}, {"seed.webp", "webp"}, {"seed.tif", "tiff"},
		{"seed.heic", "heif"}, {"seed.avif", "avif"},
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := sniff(b); got != c.format {
				t.Fatalf("sniffed %q", got)
			}
			md, err := Extract(context.Background(), bytes.NewReader(b), c.format)
			if err != nil {
				t.Fatal(err)
			}
			gps := md.GPS
			md.GPS = nil
			want := Metadata{Orientation: ip(6), Make: "Seed", Model: "种子", TakenAt: "2020-01-02T03:04:05+08:00",
				Keywords: []string{"甲", "乙", "kw"}}
			if c.format == "heif" || c.format == "avif" {
				want.Width, want.Height = 8, 8
			}
			if !equalMetadata(*md, want) {
				t.Errorf("got  %+v\nwant %+v", *md, want)
			}
			if gps == nil || gps.Lat != -10 || gps.Lon != -20 {
				t.Errorf("gps %+v, want -10,-20", gps)
			}
		})
	}
}

func ip(v int) *int { return &v }

func ptrEq(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

package extract

import (
	"math"
	"strings"
	"time"

	"tuku/internal/tuku"
)

// parseDateTime turns an EXIF date ("YYYY:MM:DD HH:MM:SS", optionally with
// sub-seconds or other trailing bytes, which are dropped) into
// "YYYY-MM-DDTHH:MM:SS". Dashes instead of colons in the date and a 'T'
// instead of the space are accepted because some software writes them.
// Blank, all-zero and impossible values (month 13, 9999:99:99, Feb 30,
// year 0) give "". A date in the future is kept: it is what the camera
// clock said.
func parseDateTime(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 19 {
		return ""
	}
	s = s[:19]
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	if (s[4] != ':' && s[4] != '-') || s[7] != s[4] || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return ""
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	se, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return ""
	}
	if y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return ""
	}
	// time.Date normalises Feb 30 into March; a changed day means the
	// date does not exist.
	if time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Day() != d {
		return ""
	}
	return s[0:4] + "-" + s[5:7] + "-" + s[8:10] + "T" + s[11:19]
}

// parseOffset validates an EXIF OffsetTime* value ("+HH:MM" or "-HH:MM",
// hours 0..14, minutes 0..59) and returns it, or "" when absent or invalid.
func parseOffset(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return ""
	}
	for _, i := range []int{1, 2, 4, 5} {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	h := int(s[1]-'0')*10 + int(s[2]-'0')
	m := int(s[4]-'0')*10 + int(s[5]-'0')
	if h > 14 || m > 59 {
		return ""
	}
	return s
}

// takenAt combines DateTimeOriginal and OffsetTimeOriginal. An offset is
// only added to a valid date; a date without an offset stays local time
// of unknown zone.
func takenAt(dto, offset string) string {
	d := parseDateTime(dto)
	if d == "" {
		return ""
	}
	return d + parseOffset(offset)
}

// rational is an EXIF RATIONAL or SRATIONAL as stored.
type rational struct{ num, den float64 }

// dmsToDegrees converts EXIF degrees, minutes, seconds (one to three
// rationals) to decimal degrees. A 0/0 part counts as 0 (writers use it
// for "not set"); n/0 with n != 0 is infinite and makes the value invalid.
func dmsToDegrees(parts []rational) float64 {
	if len(parts) == 0 || len(parts) > 3 {
		return math.NaN()
	}
	scale := []float64{1, 60, 3600}
	v := 0.0
	for i, p := range parts {
		if p.den == 0 {
			if p.num == 0 {
				continue
			}
			return math.NaN()
		}
		v += p.num / p.den / scale[i]
	}
	return v
}

// gpsFrom builds a position from the EXIF GPS IFD values: signed by the
// reference letters (S and W negative; a missing reference means north or
// east), nil when either coordinate is missing, not a number or out of
// range. 0,0 is returned as stored.
func gpsFrom(lat []rational, latRef string, lon []rational, lonRef string) *tuku.GPS {
	if len(lat) == 0 || len(lon) == 0 {
		return nil
	}
	la, lo := dmsToDegrees(lat), dmsToDegrees(lon)
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(latRef)), "S") {
		la = -la
	}
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(lonRef)), "W") {
		lo = -lo
	}
	if !validGPS(la, lo) {
		return nil
	}
	return &tuku.GPS{Lat: la, Lon: lo}
}

func validGPS(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && !math.IsInf(lat, 0) && !math.IsInf(lon, 0) &&
		math.Abs(lat) <= 90 && math.Abs(lon) <= 180
}

// orientation keeps EXIF Orientation values as stored when they are 0..8
// (exiftool reports a stored 0, which viewers treat as 1); anything else
// is absent.
func orientation(v int64) *int {
	if v >= 0 && v <= 8 {
		o := int(v)
		return &o
	}
	return nil
}

package imaging

// DetectMIME returns the media type of a file of format f whose first
// bytes are head. It refines Format.MIME where one format has several
// names: a HEIF file whose major brand is the generic "mif1"/"msf1" is
// image/heif, one branded "heic"/"heix" is image/heic (as exiftool and
// the IANA registrations name them).
func DetectMIME(f Format, head []byte) string {
	if f == HEIF && len(head) >= 12 && string(head[4:8]) == "ftyp" {
		switch string(head[8:12]) {
		case "mif1", "msf1", "heim", "heis", "hevm", "hevs":
			return "image/heif"
		}
	}
	return f.MIME()
}

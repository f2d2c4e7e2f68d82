// Package extract reads the metadata a file carries about itself (EXIF, XMP,
// IPTC) into the fields of an asset, following the rules of the corpus
// README: values as stored, invalid values treated as absent, text as UTF-8
// and capped in length. It never panics on hostile input.
package extract

import "tuku/internal/tuku"

// Metadata is what a file says about itself. Zero values mean absent.
type Metadata struct {
	// Width and Height as stored in the container, when the container
	// states them independently of the decoder (StoredSize): HEIF/AVIF
	// ispe of the primary item, JPEG SOF. A JPEG may declare height 0 and
	// give the real height in a DNL marker after the scan; Height is then
	// 0, as stored.
	Width, Height int
	StoredSize    bool
	Orientation   *int      // EXIF IFD0 Orientation as stored (0..8: 0 is stored but meaningless, display as 1); nil when absent or out of range
	TakenAt       string    // YYYY-MM-DDTHH:MM:SS[±HH:MM]; "" when absent or invalid
	GPS           *tuku.GPS // nil when absent or invalid
	Make, Model   string    // trimmed
	Description   string    // EXIF ImageDescription, XMP dc:description or IPTC Caption
	Keywords      []string  // XPKeywords, IPTC Keywords, XMP dc:subject; deduplicated
	Copyright     string
	Artist        string
}

// MaxText caps every text field, in bytes (cut on a UTF-8 boundary).
const MaxText = 8 << 10

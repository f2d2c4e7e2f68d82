// Package tuku holds the vocabulary every other package speaks: the records
// of the register (Customer, Project), the assets filed under them, users and
// tokens, and jobs. It has no behaviour beyond validation of its own values
// and imports only the standard library.
package tuku

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// NewID returns a new 26-character, lexically time-sortable identifier
// (48 bits of milliseconds, 80 random bits, Crockford base32, lower case).
// Sorting IDs sorts by creation time, which list pagination relies on.
func NewID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	// 128 bits -> 26 base32 digits (130 bits, top two are zero).
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s has the shape of an ID made by NewID. It is a
// cheap filter for path parameters, not proof that the object exists.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || c == 'i' || c == 'l' || c == 'o' || c == 'u' {
			return false
		}
	}
	return true
}

// Sensitivity of a customer or asset, from least to most protected.
type Sensitivity string

const (
	Public       Sensitivity = "public"
	Internal     Sensitivity = "internal"
	Confidential Sensitivity = "confidential"
	Restricted   Sensitivity = "restricted"
)

// Valid reports whether s is one of the four levels.
func (s Sensitivity) Valid() bool {
	switch s {
	case Public, Internal, Confidential, Restricted:
		return true
	}
	return false
}

// Category says what kind of picture an asset is.
type Category string

const (
	CatProduct  Category = "product"
	CatSite     Category = "site"
	CatDocument Category = "document"
	CatReceipt  Category = "receipt"
	CatID       Category = "id"
	CatScreen   Category = "screenshot"
	CatPortrait Category = "portrait"
	CatOther    Category = "other"
)

// Categories lists the valid categories in display order.
var Categories = []Category{CatProduct, CatSite, CatDocument, CatReceipt, CatID, CatScreen, CatPortrait, CatOther}

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Status of an asset in the review workflow.
type Status string

const (
	StatusActive   Status = "active"   // filed by staff, nothing pending
	StatusPending  Status = "pending"  // waiting for review (e.g. from an upload link)
	StatusApproved Status = "approved" // reviewed and approved
	StatusRejected Status = "rejected" // reviewed and rejected
	StatusTrashed  Status = "trashed"  // in the trash, restorable until purged
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusPending, StatusApproved, StatusRejected, StatusTrashed:
		return true
	}
	return false
}

// Customer is a company or person whose images Tuku keeps. Every asset
// belongs to exactly one customer.
type Customer struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Code        string      `json:"code"` // unique, short, used in display names
	Contact     string      `json:"contact"`
	Notes       string      `json:"notes"`
	Sensitivity Sensitivity `json:"sensitivity"` // default for new assets
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// Project groups a customer's assets (an order, a site, a campaign).
type Project struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	Name       string    `json:"name"`
	Notes      string    `json:"notes"`
	CreatedAt  time.Time `json:"created_at"`
}

// GPS is a position in signed decimal degrees (south and west negative).
type GPS struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// TagSource says where a tag came from.
type TagSource string

const (
	TagManual TagSource = "manual" // typed by a person
	TagFile   TagSource = "file"   // read from the file's own keywords
	TagAuto   TagSource = "auto"   // found by Tuku
)

// Tag is a label on an asset. Names are compared case-sensitively after
// trimming; the same name may appear once per asset.
type Tag struct {
	Name   string    `json:"name"`
	Source TagSource `json:"source"`
}

// Asset is one image filed under a customer. Width and Height are the pixel
// size as stored, before EXIF orientation is applied.
type Asset struct {
	ID               string      `json:"id"`
	CustomerID       string      `json:"customer_id"`
	ProjectID        string      `json:"project_id"` // "" when in no project; JSON null
	Name             string      `json:"name"`       // display name from the naming template
	OriginalFilename string      `json:"original_filename"`
	MIME             string      `json:"mime"`
	Format           string      `json:"format"` // jpeg, png, webp, gif, heif, avif, tiff
	Size             int64       `json:"size"`
	SHA256           string      `json:"sha256"`
	Width            int         `json:"width"`
	Height           int         `json:"height"`
	Frames           int         `json:"frames"`
	Orientation      *int        `json:"orientation"` // EXIF IFD0 value as stored (0..8); nil when absent or invalid
	TakenAt          string      `json:"taken_at"`    // YYYY-MM-DDTHH:MM:SS[±HH:MM]; "" when unknown
	GPS              *GPS        `json:"gps"`
	CameraMake       string      `json:"camera_make"`
	CameraModel      string      `json:"camera_model"`
	Description      string      `json:"description"`
	Category         Category    `json:"category"`
	Sensitivity      Sensitivity `json:"sensitivity"`
	Status           Status      `json:"status"`
	Source           string      `json:"source"`    // how it arrived: upload, import, api, link
	Copyright        string      `json:"copyright"` // from the file or typed by a person
	Tags             []Tag       `json:"tags"`
	PHash            uint64      `json:"-"`
	Clarity          float64     `json:"clarity"` // sharpness score; higher is sharper
	Version          int         `json:"version"`
	CreatedAt        time.Time   `json:"created_at"`
	CreatedBy        string      `json:"created_by"` // user ID
	UpdatedAt        time.Time   `json:"updated_at"`
}

// HasTag reports whether the asset carries a tag with this name.
func (a *Asset) HasTag(name string) bool {
	for _, t := range a.Tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Role is a user's global role.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember }

// User is a member of staff who signs in to Tuku.
type User struct {
	ID           string `json:"id"`
	Email        string `json:"email"` // lower case, unique
	DisplayName  string `json:"display_name"`
	Role         Role   `json:"role"`
	PasswordHash string `json:"-"`
	Disabled     bool   `json:"disabled"`
	Locale       string `json:"locale"` // "zh-CN", "en" or "" (from the browser)
	// PasswordChangedAt: sessions created before it are dead.
	PasswordChangedAt time.Time `json:"password_changed_at,omitzero"`
	// MustChangePassword: the password was made by Tuku (the first
	// admin's, a generated one) and is good for one sign-in: the session it
	// opens may only change it.
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
}

// Token is an API token. Only the SHA-256 of the secret is stored.
type Token struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Hash       string     `json:"-"`     // hex SHA-256 of the secret
	Scope      string     `json:"scope"` // "" = everything the user may do; "read" = read-only
	CustomerID string     `json:"customer_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Job is a unit of background work in the durable queue.
type Job struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Payload    []byte    `json:"payload"` // JSON, handler-specific
	Attempts   int       `json:"attempts"`
	MaxAttempt int       `json:"max_attempts"`
	RunAt      time.Time `json:"run_at"`
	LastError  string    `json:"last_error"`
}

// NormEmail lower-cases and trims an email address.
func NormEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

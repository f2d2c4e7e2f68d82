package tuku

import "time"

// Level is the access level a grant gives, ordered: each level includes
// the ones below it.
type Level int

const (
	LevelNone        Level = iota
	LevelViewer            // view
	LevelContributor       // + upload
	LevelEditor            // + edit metadata and versions
	LevelManager           // + approve, share, delete, manage grants of the scope
)

// String returns the level's name as the API spells it.
func (l Level) String() string {
	switch l {
	case LevelViewer:
		return "viewer"
	case LevelContributor:
		return "contributor"
	case LevelEditor:
		return "editor"
	case LevelManager:
		return "manager"
	}
	return "none"
}

// ParseLevel reads a level's name; ok is false for unknown names and "none".
func ParseLevel(s string) (Level, bool) {
	for l := LevelViewer; l <= LevelManager; l++ {
		if l.String() == s {
			return l, true
		}
	}
	return LevelNone, false
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Grant gives a member a level on a customer, or on one project of it.
type Grant struct {
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	CustomerID string `json:"customer_id"`
	ProjectID  string `json:"project_id,omitempty"` // "" = the whole customer
	Level      Level  `json:"level"`
	// Confidential lets a viewer or contributor see confidential assets
	// (editors and managers always may).
	Confidential bool      `json:"confidential"`
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
}

// Session is a signed-in browser. Only the SHA-256 of the cookie's secret
// is stored.
type Session struct {
	Hash      string    `json:"-"` // hex SHA-256 of the cookie secret
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	// MFAPending: the password was right but the second factor is still
	// to come; such a session authorises nothing but the MFA step.
	MFAPending bool   `json:"mfa_pending"`
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
}

// MFA is a user's second factor. The TOTP secret is stored as given by
// the service (which may encrypt it); recovery codes only as hashes.
type MFA struct {
	UserID        string    `json:"user_id"`
	Secret        string    `json:"-"`
	Enabled       bool      `json:"enabled"` // false while enrolment awaits its first code
	LastStep      int64     `json:"-"`       // last accepted TOTP time step: a code cannot be replayed
	RecoveryCodes []string  `json:"-"`       // hex SHA-256 of each unused code
	CreatedAt     time.Time `json:"created_at"`
}

// AuditEvent is one row of the tamper-evident audit log. Rows form a hash
// chain: Hash covers the row's content and PrevHash (see package audit).
type AuditEvent struct {
	Seq        int64     `json:"seq"` // 1, 2, 3… assigned on append
	Time       time.Time `json:"time"`
	ActorID    string    `json:"actor_id"` // user ID, "system", or "" when unknown (failed sign-in)
	ActorEmail string    `json:"actor_email"`
	Action     string    `json:"action"` // e.g. "asset.upload", "auth.login"
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	CustomerID string    `json:"customer_id"` // "" when not about one customer
	Outcome    string    `json:"outcome"`     // "ok", "denied", "failed"
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	RequestID  string    `json:"request_id"`
	Detail     string    `json:"detail"` // short JSON object or text
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

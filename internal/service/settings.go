package service

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/imaging"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Settings are what an administrator may change while Tuku runs: the
// display-name template and the upload limits. They are stored in meta
// (table settings); what is not stored takes the value the process was
// started with (Config), which is also the hard maximum: the imaging
// engine is built with Config.Limits, so a stored limit can only lower
// them.
type Settings struct {
	NamingTemplate string `json:"naming_template"`
	MaxBytes       int64  `json:"max_bytes"`
	MaxPixels      int64  `json:"max_pixels"`
	MaxSide        int    `json:"max_side"`
	MaxFrames      int    `json:"max_frames"`
	// RequireMFA is who must sign in with a second factor, on top of what
	// the server was started with (--require-mfa): "" (no more than that),
	// "admin" (administrators) or "all" (everyone). A stored value can
	// only add to the server's rule, never relax it. (In
	// SettingsInfo.Defaults it describes that rule, and may be "member".)
	RequireMFA string `json:"require_mfa"`
}

// Values of Settings.RequireMFA.
const (
	MFAForAdmins = "admin"
	MFAForAll    = RequireMFAAll
)

// Limits returns the upload limits of s.
func (s Settings) Limits() imaging.Limits {
	return imaging.Limits{MaxBytes: s.MaxBytes, MaxPixels: s.MaxPixels, MaxSide: s.MaxSide, MaxFrames: s.MaxFrames}
}

// SettingsInfo is what the settings page shows: the values in force, the
// defaults they fall back to (and may not exceed), and which are stored.
type SettingsInfo struct {
	Current  Settings        `json:"current"`
	Defaults Settings        `json:"defaults"`
	Stored   map[string]bool `json:"stored"` // by key (SettingNamingTemplate, …)
}

// Setting keys in the settings table.
const (
	SettingNamingTemplate = "naming_template"
	SettingMaxBytes       = "max_bytes"
	SettingMaxPixels      = "max_pixels"
	SettingMaxSide        = "max_side"
	SettingMaxFrames      = "max_frames"
	SettingRequireMFA     = "require_mfa"
)

// settingsTTL bounds how long a process trusts the settings it read.
// UpdateSettings forgets them at once in the process that made the change;
// other processes (a second `tuku serve`, `tuku import` beside a server)
// see the change within this time.
const settingsTTL = 5 * time.Second

// effectiveSettings are the settings as ingest uses them.
type effectiveSettings struct {
	Settings
	namer *Namer
}

// settingsCache holds the effective settings for settingsTTL. Its zero
// value is empty and ready to use.
type settingsCache struct {
	mu  sync.Mutex
	val *effectiveSettings
	at  time.Time
}

func (c *settingsCache) get(now time.Time) *effectiveSettings {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.val == nil || now.Sub(c.at) > settingsTTL || now.Before(c.at) {
		return nil
	}
	return c.val
}

func (c *settingsCache) put(v *effectiveSettings, now time.Time) {
	c.mu.Lock()
	c.val, c.at = v, now
	c.mu.Unlock()
}

func (c *settingsCache) forget() {
	c.mu.Lock()
	c.val = nil
	c.mu.Unlock()
}

// defaultSettings are the values the process was configured with.
func (s *Service) defaultSettings() Settings {
	l := s.cfg.Limits
	d := Settings{NamingTemplate: s.cfg.NamingTemplate, MaxBytes: l.MaxBytes, MaxPixels: l.MaxPixels, MaxSide: l.MaxSide, MaxFrames: l.MaxFrames}
	switch {
	case s.auth.requireAll || (s.auth.requireRoles[tuku.RoleAdmin] && s.auth.requireRoles[tuku.RoleMember]):
		d.RequireMFA = MFAForAll
	case s.auth.requireRoles[tuku.RoleAdmin]:
		d.RequireMFA = MFAForAdmins
	case s.auth.requireRoles[tuku.RoleMember]:
		d.RequireMFA = string(tuku.RoleMember) // shown only: not a value to store
	}
	return d
}

// mergeSettings lays the stored values over the defaults. A stored value
// that no longer makes sense (edited by hand, or a default lowered since)
// is ignored with a log line rather than stopping every upload: the
// defaults are always safe.
func (s *Service) mergeSettings(stored map[string]string) (Settings, map[string]bool) {
	out := s.defaultSettings()
	def := out
	out.RequireMFA = "" // the stored addition to the configuration, if any
	set := map[string]bool{}
	if v, ok := stored[SettingNamingTemplate]; ok {
		if _, err := ParseNamingTemplate(v); err == nil {
			out.NamingTemplate, set[SettingNamingTemplate] = v, true
		} else {
			s.log.Warn("stored naming template ignored", "err", err)
		}
	}
	num := func(key string, max int64, dst func(int64)) {
		v, ok := stored[key]
		if !ok {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > max {
			s.log.Warn("stored limit ignored", "key", key, "value", v)
			return
		}
		dst(n)
		set[key] = true
	}
	num(SettingMaxBytes, def.MaxBytes, func(n int64) { out.MaxBytes = n })
	num(SettingMaxPixels, def.MaxPixels, func(n int64) { out.MaxPixels = n })
	num(SettingMaxSide, int64(def.MaxSide), func(n int64) { out.MaxSide = int(n) })
	num(SettingMaxFrames, int64(def.MaxFrames), func(n int64) { out.MaxFrames = int(n) })
	if v, ok := stored[SettingRequireMFA]; ok {
		if v == MFAForAdmins || v == MFAForAll {
			out.RequireMFA, set[SettingRequireMFA] = v, true
		} else {
			s.log.Warn("stored require_mfa ignored", "value", v)
		}
	}
	return out, set
}

// storedSettings reads every stored setting.
func (s *Service) storedSettings(ctx context.Context) (map[string]string, error) {
	var stored map[string]string
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		stored, err = tx.ListSettings(ctx)
		return err
	})
	return stored, err
}

// effective returns the settings in force, from the cache when fresh.
func (s *Service) effective(ctx context.Context) (*effectiveSettings, error) {
	now := s.now()
	if v := s.settings.get(now); v != nil {
		return v, nil
	}
	stored, err := s.storedSettings(ctx)
	if err != nil {
		return nil, err
	}
	cur, _ := s.mergeSettings(stored)
	v := &effectiveSettings{Settings: cur, namer: s.namer}
	if cur.NamingTemplate != s.cfg.NamingTemplate {
		// mergeSettings kept it only if it parses.
		v.namer, _ = ParseNamingTemplate(cur.NamingTemplate)
	}
	s.settings.put(v, now)
	return v, nil
}

// UploadLimits returns the upload limits in force now: the configured
// ones, or lower ones an administrator set (for telling people before they
// upload; ingest applies the same).
func (s *Service) UploadLimits(ctx context.Context) (imaging.Limits, error) {
	l := s.cfg.Limits
	e, err := s.effective(ctx)
	if err != nil {
		return l, err
	}
	l.MaxBytes, l.MaxPixels, l.MaxSide, l.MaxFrames = e.MaxBytes, e.MaxPixels, e.MaxSide, e.MaxFrames
	return l, nil
}

// mfaRequired reports whether a user of role r must have a second factor:
// by the server's configuration, or by the stored setting (read in tx when
// the cache is stale, so sign-in never waits on a second transaction).
func (s *Service) mfaRequired(ctx context.Context, tx meta.Tx, r tuku.Role) (bool, error) {
	if s.auth.mfaRequired(r) {
		return true, nil
	}
	var v string
	if e := s.settings.get(s.now()); e != nil {
		v = e.RequireMFA
	} else {
		stored, err := tx.ListSettings(ctx)
		if err != nil {
			return false, err
		}
		cur, _ := s.mergeSettings(stored)
		v = cur.RequireMFA
	}
	return v == MFAForAll || (v == MFAForAdmins && r == tuku.RoleAdmin), nil
}

// GetSettings returns the settings in force and their defaults (admins).
func (s *Service) GetSettings(ctx context.Context, p *authz.Principal) (*SettingsInfo, error) {
	if err := authz.Check(p, authz.ManageSettings, authz.Resource{}); err != nil {
		return nil, err
	}
	stored, err := s.storedSettings(ctx)
	if err != nil {
		return nil, err
	}
	cur, set := s.mergeSettings(stored)
	return &SettingsInfo{Current: cur, Defaults: s.defaultSettings(), Stored: set}, nil
}

// UpdateSettings stores in (admins only). A field equal to its default,
// or empty/zero, is removed from the store so it follows the default
// again. The template must parse and every limit must be positive and
// not above the default (the hard maximum the imaging engine enforces).
// Audited as "settings.update" with the fields that changed.
func (s *Service) UpdateSettings(ctx context.Context, p *authz.Principal, in Settings) (*SettingsInfo, error) {
	const op = "settings.update"
	if err := authz.Check(p, authz.ManageSettings, authz.Resource{}); err != nil {
		return nil, err
	}
	def := s.defaultSettings()
	in.NamingTemplate = strings.TrimSpace(in.NamingTemplate)
	if in.NamingTemplate == "" {
		in.NamingTemplate = def.NamingTemplate
	}
	if len(in.NamingTemplate) > 500 {
		return nil, errs.E(errs.Invalid, op, "the naming template is longer than 500 characters", nil)
	}
	if _, err := ParseNamingTemplate(in.NamingTemplate); err != nil {
		return nil, errs.E(errs.Invalid, op, errs.Message(err), err)
	}
	type limit struct {
		key       string
		val, max  int64
		what      string
		storeWant string
	}
	limits := []limit{
		{key: SettingMaxBytes, val: in.MaxBytes, max: def.MaxBytes, what: "the maximum file size"},
		{key: SettingMaxPixels, val: in.MaxPixels, max: def.MaxPixels, what: "the maximum number of pixels"},
		{key: SettingMaxSide, val: int64(in.MaxSide), max: int64(def.MaxSide), what: "the maximum side"},
		{key: SettingMaxFrames, val: int64(in.MaxFrames), max: int64(def.MaxFrames), what: "the maximum number of frames"},
	}
	for i, l := range limits {
		if l.val < 0 {
			return nil, errs.Ef(errs.Invalid, op, "%s must be a positive number", l.what)
		}
		if l.val > l.max {
			return nil, errs.Ef(errs.Invalid, op, "%s may not exceed %d, the server's limit", l.what, l.max)
		}
		if l.val > 0 && l.val != l.max {
			limits[i].storeWant = strconv.FormatInt(l.val, 10)
		}
	}
	in.RequireMFA = strings.TrimSpace(in.RequireMFA)
	switch in.RequireMFA {
	case "", "none", "default":
		in.RequireMFA = ""
	case MFAForAdmins, MFAForAll:
	default:
		return nil, errs.Ef(errs.Invalid, op, "require_mfa must be empty, %q or %q", MFAForAdmins, MFAForAll)
	}
	want := map[string]string{}
	if in.RequireMFA != "" {
		want[SettingRequireMFA] = in.RequireMFA
	}
	if in.NamingTemplate != def.NamingTemplate {
		want[SettingNamingTemplate] = in.NamingTemplate
	}
	for _, l := range limits {
		if l.storeWant != "" {
			want[l.key] = l.storeWant
		}
	}
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		old, err := tx.ListSettings(ctx)
		if err != nil {
			return err
		}
		changed := map[string]string{}
		for _, key := range []string{SettingNamingTemplate, SettingMaxBytes, SettingMaxPixels, SettingMaxSide, SettingMaxFrames, SettingRequireMFA} {
			nv, keep := want[key]
			ov, had := old[key]
			switch {
			case keep && (!had || ov != nv):
				if err := tx.PutSetting(ctx, key, nv); err != nil {
					return err
				}
				changed[key] = nv
			case !keep && had:
				if err := tx.DeleteSetting(ctx, key); err != nil {
					return err
				}
				changed[key] = "(default)"
			}
		}
		if len(changed) == 0 {
			return nil // nothing to record
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "settings", Detail: auditDetail(changed)})
	})
	if err != nil {
		return nil, err
	}
	s.settings.forget()
	s.accessChanged()
	return s.GetSettings(ctx, p)
}

package metatest

import (
	"reflect"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

func addUser(t *testing.T, s meta.Store, email string) *tuku.User {
	t.Helper()
	u := &tuku.User{Email: email, DisplayName: email, Role: tuku.RoleMember, PasswordHash: "$argon2id$" + email}
	update(t, s, func(tx meta.Tx) error { return tx.CreateUser(t.Context(), u) })
	return u
}

func testUpdateUser(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := &tuku.User{Email: "li.si@example.com", DisplayName: "Li", Role: tuku.RoleMember, PasswordHash: "h1", Locale: "en",
		CreatedAt: at("2024-01-01T00:00:00.000001+08:00"), MustChangePassword: true}
	update(t, s, func(tx meta.Tx) error { return tx.CreateUser(ctx, u) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if got.Locale != "en" || !got.PasswordChangedAt.IsZero() || !got.MustChangePassword {
			t.Errorf("new user: Locale %q PasswordChangedAt %v MustChangePassword %v, want \"en\", zero and true",
				got.Locale, got.PasswordChangedAt, got.MustChangePassword)
		}
		return nil
	})

	changed := at("2024-03-04T05:06:07.123456789+08:00")
	upd := *u
	upd.Email = "other@example.com" // not written: the email is the sign-in name
	upd.DisplayName = "李四"
	upd.Role = tuku.RoleAdmin
	upd.PasswordHash = "h2"
	upd.Disabled = true
	upd.Locale = "zh-CN"
	upd.PasswordChangedAt = changed
	upd.MustChangePassword = false
	upd.CreatedAt = at("2030-01-01T00:00:00Z") // not written either
	update(t, s, func(tx meta.Tx) error { return tx.UpdateUser(ctx, &upd) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetUserByEmail(ctx, "li.si@example.com")
		if err != nil {
			return err
		}
		want := tuku.User{ID: u.ID, Email: "li.si@example.com", DisplayName: "李四", Role: tuku.RoleAdmin, PasswordHash: "h2",
			Disabled: true, Locale: "zh-CN", PasswordChangedAt: changed, CreatedAt: u.CreatedAt}
		if !sameUser(*got, want) {
			t.Errorf("after UpdateUser: %+v, want %+v", got, want)
		}
		list, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		if len(list) != 1 || !sameUser(list[0], want) {
			t.Errorf("ListUsers after UpdateUser = %+v", list)
		}
		return nil
	})
	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.UpdateUser(ctx, &tuku.User{ID: tuku.NewID(), Email: "x@example.com", Role: tuku.RoleMember})
	})
	wantKind(t, "UpdateUser(missing)", err, errs.NotFound)
	err = s.View(ctx, func(tx meta.Tx) error { return tx.UpdateUser(ctx, &upd) })
	wantKind(t, "UpdateUser in a View", err, errs.Invalid)
}

func sameUser(a, b tuku.User) bool {
	if !sameTime(a.CreatedAt, b.CreatedAt) || !sameTime(a.PasswordChangedAt, b.PasswordChangedAt) {
		return false
	}
	a.CreatedAt, b.CreatedAt, a.PasswordChangedAt, b.PasswordChangedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func testTokens(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := addUser(t, s, "u@example.com")
	v := addUser(t, s, "v@example.com")
	k1 := &tuku.Token{UserID: u.ID, Name: "ci", Hash: sha("t1"), Scope: "read", CustomerID: "c1", CreatedAt: at("2024-01-01T00:00:00.000001Z")}
	k2 := &tuku.Token{UserID: u.ID, Name: "laptop", Hash: sha("t2"), CreatedAt: at("2024-01-02T00:00:00Z")}
	k3 := &tuku.Token{UserID: v.ID, Name: "other", Hash: sha("t3")}
	update(t, s, func(tx meta.Tx) error {
		for _, k := range []*tuku.Token{k2, k1, k3} {
			if err := tx.CreateToken(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	first := at("2024-05-05T05:05:05.000005+02:00")
	update(t, s, func(tx meta.Tx) error { return tx.RevokeToken(ctx, k1.ID, first) })
	// Revoking again keeps the first time.
	update(t, s, func(tx meta.Tx) error { return tx.RevokeToken(ctx, k1.ID, first.Add(time.Hour)) })

	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetToken(ctx, k1.ID)
		if err != nil {
			return err
		}
		if got.ID != k1.ID || got.UserID != u.ID || got.Name != "ci" || got.Hash != k1.Hash || got.Scope != "read" ||
			got.CustomerID != "c1" || !sameTime(got.CreatedAt, k1.CreatedAt) || got.RevokedAt == nil || !sameTime(*got.RevokedAt, first) {
			t.Errorf("GetToken = %+v (revoked %v), want %+v revoked at %v", got, got.RevokedAt, k1, first)
		}
		byHash, err := tx.GetTokenByHash(ctx, k1.Hash)
		if err != nil {
			return err
		}
		if byHash.RevokedAt == nil || !sameTime(*byHash.RevokedAt, first) {
			t.Errorf("GetTokenByHash after revoke: RevokedAt %v, want %v", byHash.RevokedAt, first)
		}
		_, err = tx.GetToken(ctx, tuku.NewID())
		wantKind(t, "GetToken(missing)", err, errs.NotFound)

		list, err := tx.ListTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		var names []string
		for _, k := range list {
			names = append(names, k.Name)
		}
		if !reflect.DeepEqual(names, []string{"ci", "laptop"}) {
			t.Errorf("ListTokens(u) = %v, want [ci laptop] (oldest first, revoked included)", names)
		}
		if len(list) == 2 && (list[0].RevokedAt == nil || list[1].RevokedAt != nil) {
			t.Errorf("ListTokens(u) revoked_at = %v, %v; want set, nil", list[0].RevokedAt, list[1].RevokedAt)
		}
		none, err := tx.ListTokens(ctx, tuku.NewID())
		if err != nil || len(none) != 0 {
			t.Errorf("ListTokens(unknown user) = %v, %v; want empty", none, err)
		}
		return nil
	})
	err := s.Tx(ctx, func(tx meta.Tx) error { return tx.RevokeToken(ctx, tuku.NewID(), first) })
	wantKind(t, "RevokeToken(missing)", err, errs.NotFound)
}

func testSessions(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := addUser(t, s, "u@example.com")
	v := addUser(t, s, "v@example.com")
	t0 := at("2024-06-01T10:00:00.000001+08:00")
	s1 := &tuku.Session{Hash: sha("s1"), UserID: u.ID, CreatedAt: t0, LastSeen: t0, MFAPending: true, IP: "192.0.2.1", UserAgent: "Firefox/128 中文"}
	s2 := &tuku.Session{Hash: sha("s2"), UserID: u.ID, CreatedAt: t0.Add(time.Hour), LastSeen: t0.Add(2 * time.Hour), IP: "2001:db8::1"}
	s3 := &tuku.Session{Hash: sha("s3"), UserID: v.ID, CreatedAt: t0, LastSeen: t0.Add(-time.Hour)}
	s4 := &tuku.Session{Hash: sha("s4"), UserID: v.ID} // times filled in
	update(t, s, func(tx meta.Tx) error {
		for _, x := range []*tuku.Session{s1, s2, s3, s4} {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	if s4.CreatedAt.IsZero() || !s4.LastSeen.Equal(s4.CreatedAt) {
		t.Errorf("CreateSession did not fill in the times: %+v", s4)
	}
	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateSession(ctx, &tuku.Session{Hash: s1.Hash, UserID: v.ID})
	})
	wantKind(t, "CreateSession(same hash)", err, errs.Conflict)
	err = s.Tx(ctx, func(tx meta.Tx) error {
		return tx.CreateSession(ctx, &tuku.Session{Hash: sha("x"), UserID: tuku.NewID()})
	})
	wantKind(t, "CreateSession(unknown user)", err, errs.Invalid)

	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetSession(ctx, s1.Hash)
		if err != nil {
			return err
		}
		if !sameSession(*got, *s1) {
			t.Errorf("GetSession = %+v, want %+v", got, s1)
		}
		_, err = tx.GetSession(ctx, sha("nope"))
		wantKind(t, "GetSession(missing)", err, errs.NotFound)
		return nil
	})

	touched := *s1
	touched.LastSeen = t0.Add(30 * time.Minute)
	touched.MFAPending = false
	touched.IP = "203.0.113.9" // not written: only last_seen and mfa_pending
	update(t, s, func(tx meta.Tx) error { return tx.TouchSession(ctx, &touched) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetSession(ctx, s1.Hash)
		if err != nil {
			return err
		}
		want := *s1
		want.LastSeen, want.MFAPending = touched.LastSeen, false
		if !sameSession(*got, want) {
			t.Errorf("after TouchSession: %+v, want %+v", got, want)
		}
		return nil
	})
	err = s.Tx(ctx, func(tx meta.Tx) error {
		return tx.TouchSession(ctx, &tuku.Session{Hash: sha("nope"), LastSeen: t0})
	})
	wantKind(t, "TouchSession(missing)", err, errs.NotFound)

	// Expiry: s3 (last seen t0-1h) goes, s1 (t0+30m) and s2 (t0+2h) stay.
	update(t, s, func(tx meta.Tx) error {
		n, err := tx.DeleteSessionsBefore(ctx, t0)
		if err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("DeleteSessionsBefore = %d, want 1", n)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		_, err := tx.GetSession(ctx, s3.Hash)
		wantKind(t, "GetSession(expired)", err, errs.NotFound)
		n, err := tx.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("DeleteUserSessions(u) = %d, want 2", n)
		}
		for _, h := range []string{s1.Hash, s2.Hash} {
			_, err := tx.GetSession(ctx, h)
			wantKind(t, "GetSession after DeleteUserSessions", err, errs.NotFound)
		}
		if _, err := tx.GetSession(ctx, s4.Hash); err != nil {
			t.Errorf("another user's session is gone: %v", err)
		}
		n, err = tx.DeleteUserSessions(ctx, u.ID)
		if err != nil || n != 0 {
			t.Errorf("DeleteUserSessions again = %d, %v; want 0, nil", n, err)
		}
		if err := tx.DeleteSession(ctx, s4.Hash); err != nil {
			return err
		}
		_, err = tx.GetSession(ctx, s4.Hash)
		wantKind(t, "GetSession after DeleteSession", err, errs.NotFound)
		wantKind(t, "DeleteSession(missing)", tx.DeleteSession(ctx, s4.Hash), errs.NotFound)
		return nil
	})
}

func sameSession(a, b tuku.Session) bool {
	if !sameTime(a.CreatedAt, b.CreatedAt) || !sameTime(a.LastSeen, b.LastSeen) {
		return false
	}
	a.CreatedAt, b.CreatedAt, a.LastSeen, b.LastSeen = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func testMFA(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := addUser(t, s, "u@example.com")
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.GetMFA(ctx, u.ID)
		wantKind(t, "GetMFA(none)", err, errs.NotFound)
		return nil
	})
	m := &tuku.MFA{UserID: u.ID, Secret: "enc:JBSWY3DPEHPK3PXP", Enabled: false, LastStep: 0,
		RecoveryCodes: []string{sha("r1"), sha("r2")}, CreatedAt: at("2024-07-01T00:00:00.000001+08:00")}
	update(t, s, func(tx meta.Tx) error { return tx.PutMFA(ctx, m) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetMFA(ctx, u.ID)
		if err != nil {
			return err
		}
		if !sameMFA(*got, *m) {
			t.Errorf("GetMFA = %+v, want %+v", got, m)
		}
		return nil
	})
	// Replace: enrolment confirmed, a step used, one code spent.
	m2 := &tuku.MFA{UserID: u.ID, Secret: m.Secret, Enabled: true, LastStep: 57_000_123, RecoveryCodes: []string{sha("r2")}, CreatedAt: m.CreatedAt}
	update(t, s, func(tx meta.Tx) error { return tx.PutMFA(ctx, m2) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetMFA(ctx, u.ID)
		if err != nil {
			return err
		}
		if !sameMFA(*got, *m2) {
			t.Errorf("GetMFA after replace = %+v, want %+v", got, m2)
		}
		return nil
	})
	// No codes left: nil is stored and read back as an empty list.
	m3 := &tuku.MFA{UserID: u.ID, Secret: "s3", Enabled: true, LastStep: 57_000_124}
	update(t, s, func(tx meta.Tx) error { return tx.PutMFA(ctx, m3) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetMFA(ctx, u.ID)
		if err != nil {
			return err
		}
		if got.RecoveryCodes == nil || len(got.RecoveryCodes) != 0 || got.LastStep != 57_000_124 || got.Secret != "s3" {
			t.Errorf("GetMFA without codes = %+v, want an empty non-nil list", got)
		}
		return nil
	})
	err := s.Tx(ctx, func(tx meta.Tx) error { return tx.PutMFA(ctx, &tuku.MFA{UserID: tuku.NewID(), Secret: "x"}) })
	wantKind(t, "PutMFA(unknown user)", err, errs.Invalid)
	update(t, s, func(tx meta.Tx) error {
		if err := tx.DeleteMFA(ctx, u.ID); err != nil {
			return err
		}
		_, err := tx.GetMFA(ctx, u.ID)
		wantKind(t, "GetMFA after DeleteMFA", err, errs.NotFound)
		wantKind(t, "DeleteMFA(none)", tx.DeleteMFA(ctx, u.ID), errs.NotFound)
		return nil
	})
}

func sameMFA(a, b tuku.MFA) bool {
	return a.UserID == b.UserID && a.Secret == b.Secret && a.Enabled == b.Enabled && a.LastStep == b.LastStep &&
		reflect.DeepEqual(a.RecoveryCodes, b.RecoveryCodes) && sameTime(a.CreatedAt, b.CreatedAt)
}

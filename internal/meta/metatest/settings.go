package metatest

import (
	"reflect"
	"testing"

	"tuku/internal/errs"
	"tuku/internal/meta"
)

func testSettings(t *testing.T, s meta.Store) {
	ctx := t.Context()
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.GetSetting(ctx, "naming_template")
		wantKind(t, "GetSetting(unset)", err, errs.NotFound)
		all, err := tx.ListSettings(ctx)
		if err != nil {
			return err
		}
		if len(all) != 0 {
			t.Errorf("ListSettings on an empty store = %v, want none", all)
		}
		wantKind(t, "PutSetting in a View", tx.PutSetting(ctx, "k", "v"), errs.Invalid)
		return nil
	})

	update(t, s, func(tx meta.Tx) error {
		for k, v := range map[string]string{"naming_template": "{customer}_{seq:03}.{ext}", "max_bytes": "1048576", "empty": ""} {
			if err := tx.PutSetting(ctx, k, v); err != nil {
				return err
			}
		}
		// Replacing keeps one row per key.
		return tx.PutSetting(ctx, "max_bytes", "2097152")
	})
	update(t, s, func(tx meta.Tx) error {
		wantKind(t, "PutSetting(empty key)", tx.PutSetting(ctx, "", "x"), errs.Invalid)
		return nil
	})
	// Chinese text and a value with quotes survive the round trip.
	update(t, s, func(tx meta.Tx) error { return tx.PutSetting(ctx, "note", `客户 "A"`) })

	want := map[string]string{"naming_template": "{customer}_{seq:03}.{ext}", "max_bytes": "2097152", "empty": "", "note": `客户 "A"`}
	view(t, s, func(tx meta.Tx) error {
		for k, v := range want {
			got, err := tx.GetSetting(ctx, k)
			if err != nil {
				t.Errorf("GetSetting(%q): %v", k, err)
			} else if got != v {
				t.Errorf("GetSetting(%q) = %q, want %q", k, got, v)
			}
		}
		all, err := tx.ListSettings(ctx)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(all, want) {
			t.Errorf("ListSettings = %v, want %v", all, want)
		}
		return nil
	})

	// Delete, including a key that is not there; a rolled-back put leaves nothing.
	update(t, s, func(tx meta.Tx) error {
		if err := tx.DeleteSetting(ctx, "empty"); err != nil {
			return err
		}
		return tx.DeleteSetting(ctx, "never-set")
	})
	err := s.Tx(ctx, func(tx meta.Tx) error {
		if err := tx.PutSetting(ctx, "rolled", "back"); err != nil {
			return err
		}
		return errs.E(errs.Invalid, "test", "roll back", nil)
	})
	wantKind(t, "Tx returning an error", err, errs.Invalid)
	view(t, s, func(tx meta.Tx) error {
		for _, k := range []string{"empty", "rolled"} {
			_, err := tx.GetSetting(ctx, k)
			wantKind(t, "GetSetting("+k+")", err, errs.NotFound)
		}
		all, err := tx.ListSettings(ctx)
		if err != nil {
			return err
		}
		if len(all) != 3 {
			t.Errorf("ListSettings after delete = %v, want 3 keys", all)
		}
		return nil
	})
}

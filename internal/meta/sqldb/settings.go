package sqldb

import (
	"context"

	"tuku/internal/errs"
)

// Settings are plain key/value rows: the service owns their meaning and
// validation (service/settings.go), the store only keeps them.

// GetSetting implements meta.Tx.
func (t *Tx) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := t.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err != nil {
		return "", t.s.mapErr("meta.get_setting", err, "setting "+key+" is not set", "")
	}
	return v, nil
}

// PutSetting implements meta.Tx.
func (t *Tx) PutSetting(ctx context.Context, key, value string) error {
	const op = "meta.put_setting"
	if err := t.writable(op); err != nil {
		return err
	}
	if key == "" {
		return errs.E(errs.Invalid, op, "a setting needs a key", nil)
	}
	_, err := t.exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, toNS(nowUTC()))
	return t.s.mapErr(op, err, "", "")
}

// DeleteSetting implements meta.Tx.
func (t *Tx) DeleteSetting(ctx context.Context, key string) error {
	const op = "meta.delete_setting"
	if err := t.writable(op); err != nil {
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM settings WHERE key = ?`, key)
	return t.s.mapErr(op, err, "", "")
}

// ListSettings implements meta.Tx.
func (t *Tx) ListSettings(ctx context.Context) (map[string]string, error) {
	const op = "meta.list_settings"
	rows, err := t.query(ctx, `SELECT key, value FROM settings ORDER BY key`)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		out[k] = v
	}
	return out, t.s.mapErr(op, rows.Err(), "", "")
}

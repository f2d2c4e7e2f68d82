package service

import (
	"context"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Home-page figures and per-user preferences.

// LibraryStats are the figures of the part of the library a principal may
// see.
type LibraryStats struct {
	Assets  int64 `json:"assets"`
	Bytes   int64 `json:"bytes"`   // original sizes added up
	Pending int64 `json:"pending"` // waiting for review, where p may review
}

// Stats counts the assets p may see, their storage, and those waiting for
// review among the ones p may review. All counts run in SQL under the same
// scopes as ListAssets, so nothing hidden is counted.
func (s *Service) Stats(ctx context.Context, p *authz.Principal) (*LibraryStats, error) {
	const op = "stats"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	var st LibraryStats
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		f := meta.AssetFilter{Scopes: assetScopes(p, authz.ViewAsset)}
		var err error
		if st.Assets, err = tx.CountAssets(ctx, f); err != nil {
			return err
		}
		if st.Bytes, err = tx.SumAssetBytes(ctx, f); err != nil {
			return err
		}
		rf := meta.AssetFilter{Scopes: assetScopes(p, authz.ReviewAsset), Status: string(tuku.StatusPending)}
		st.Pending, err = tx.CountAssets(ctx, rf)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// SetLocale saves p's interface language ("zh-CN", "en", or "" to follow
// the browser). Not audited: it is a display preference.
func (s *Service) SetLocale(ctx context.Context, p *authz.Principal, locale string) error {
	const op = "user.locale"
	if p == nil || p.UserID == "" || p.Via == "system" {
		return errs.E(errs.Unauth, op, "authentication required", nil)
	}
	switch locale {
	case "", "zh-CN", "en":
	default:
		return errs.Ef(errs.Invalid, op, "unsupported language %q (zh-CN or en)", locale)
	}
	return s.meta.Tx(ctx, func(tx meta.Tx) error {
		u, err := tx.GetUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.Locale == locale {
			return nil
		}
		u.Locale = locale
		return tx.UpdateUser(ctx, u)
	})
}

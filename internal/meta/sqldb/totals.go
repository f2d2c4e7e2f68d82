package sqldb

import (
	"context"

	"tuku/internal/meta"
)

// SumAssetBytes implements meta.Tx: the same filter as CountAssets.
func (t *Tx) SumAssetBytes(ctx context.Context, f meta.AssetFilter) (int64, error) {
	clause, args, none := t.where(&f)
	if none {
		return 0, nil
	}
	var n int64
	err := t.queryRow(ctx, `SELECT CAST(COALESCE(SUM(a.size), 0) AS BIGINT) FROM assets a`+clause, args...).Scan(&n)
	return n, t.s.mapErr("meta.sum_asset_bytes", err, "", "")
}

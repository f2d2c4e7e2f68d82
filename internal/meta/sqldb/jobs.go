package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Job states as stored.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDead    = "dead"
)

// DefaultMaxAttempts is used when a job is enqueued with MaxAttempt 0.
const DefaultMaxAttempts = 5

// Enqueue implements meta.Tx. A zero MaxAttempt becomes
// DefaultMaxAttempts and a zero RunAt now; j.ID is set.
func (t *Tx) Enqueue(ctx context.Context, j *tuku.Job) error {
	const op = "meta.enqueue"
	if err := t.writable(op); err != nil {
		return err
	}
	if j.Kind == "" {
		return errs.E(errs.Invalid, op, "a job needs a kind", nil)
	}
	now := nowUTC()
	if j.MaxAttempt <= 0 {
		j.MaxAttempt = DefaultMaxAttempts
	}
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	err := t.queryRow(ctx, `INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, lease_until, last_error, created_at)
		VALUES (?, ?, 'queued', ?, ?, ?, 0, ?, ?) RETURNING id`,
		j.Kind, payload, j.Attempts, j.MaxAttempt, toNS(j.RunAt), j.LastError, toNS(now)).Scan(&j.ID)
	return t.s.mapErr(op, err, "", "")
}

// jobQueue implements meta.JobQueue on the store's write pool; every call
// is its own short transaction.
type jobQueue Store

var _ meta.JobQueue = (*jobQueue)(nil)

// Claim implements meta.JobQueue. Kinds must not be empty.
func (q *jobQueue) Claim(ctx context.Context, kinds []string, lease time.Duration) (*tuku.Job, error) {
	const op = "meta.jobs.claim"
	if len(kinds) == 0 {
		return nil, errs.E(errs.Invalid, op, "claim needs at least one job kind", nil)
	}
	s := (*Store)(q)
	var job *tuku.Job
	err := s.writeTx(ctx, func(t *Tx) error {
		job = nil
		now := toNS(nowUTC())
		// A job whose last attempt's worker died is dead, not run again:
		// it might be what kills the workers.
		if _, err := t.exec(ctx, `UPDATE jobs SET state = 'dead', last_error = 'lease expired on the last attempt'
			WHERE state = 'running' AND lease_until <= ? AND attempts >= max_attempts`, now); err != nil {
			return err
		}
		args := []any{toNS(nowUTC().Add(lease))}
		for _, k := range kinds {
			args = append(args, k)
		}
		args = append(args, now, now)
		var j tuku.Job
		var runAt int64
		err := t.queryRow(ctx, `UPDATE jobs SET state = 'running', lease_until = ?, attempts = attempts + 1
			WHERE id = (SELECT id FROM jobs
				WHERE kind IN (`+placeholders(len(kinds))+`)
				  AND ((state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until <= ? AND attempts < max_attempts))
				ORDER BY run_at, id LIMIT 1 `+s.d.SkipLocked+`)
			RETURNING id, kind, payload, attempts, max_attempts, run_at, last_error`, args...).
			Scan(&j.ID, &j.Kind, &j.Payload, &j.Attempts, &j.MaxAttempt, &runAt, &j.LastError)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		j.RunAt = fromNS(runAt)
		job = &j
		return nil
	})
	if err != nil {
		return nil, s.mapErr(op, err, "", "")
	}
	return job, nil
}

// Complete implements meta.JobQueue. A job that no longer exists is
// errs.NotFound.
func (q *jobQueue) Complete(ctx context.Context, id int64) error {
	const op = "meta.jobs.complete"
	s := (*Store)(q)
	return s.writeTx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `DELETE FROM jobs WHERE id = ?`, id)
		if err != nil {
			return s.mapErr(op, err, "", "")
		}
		return t.mustAffect(op, res, "job not found")
	})
}

// Fail implements meta.JobQueue.
func (q *jobQueue) Fail(ctx context.Context, id int64, msg string, retryAt time.Time) error {
	const op = "meta.jobs.fail"
	s := (*Store)(q)
	if retryAt.IsZero() {
		retryAt = nowUTC()
	}
	return s.writeTx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `UPDATE jobs SET
			state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
			run_at = ?, last_error = ?, lease_until = 0 WHERE id = ?`, toNS(retryAt), msg, id)
		if err != nil {
			return s.mapErr(op, err, "", "")
		}
		return t.mustAffect(op, res, "job not found")
	})
}

// Stats implements meta.JobQueue. The three states are always present.
func (q *jobQueue) Stats(ctx context.Context) (map[string]int, error) {
	const op = "meta.jobs.stats"
	s := (*Store)(q)
	out := map[string]int{JobQueued: 0, JobRunning: 0, JobDead: 0}
	err := s.run(ctx, s.r, &s.d.ReadTx, true, func(t *Tx) error {
		rows, err := t.query(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			out[st] = n
		}
		return rows.Err()
	})
	return out, s.mapErr(op, err, "", "")
}

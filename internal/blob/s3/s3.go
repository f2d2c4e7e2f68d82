// Package s3 is a blob.Store on any S3-compatible server (AWS S3, MinIO,
// Ceph RGW, Alibaba OSS, Tencent COS, versitygw), through minio-go.
//
// Keys are stored as object names under Config.Prefix in one bucket. S3
// PUTs are atomic (a reader sees the old or the new object, never part of
// one) and failed multipart uploads are aborted, so the blob.Store contract
// holds without temporary objects.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"tuku/internal/blob"
	"tuku/internal/errs"
)

// DefaultPartSize is the multipart part size. It bounds the memory of one
// upload (an object of up to this size is buffered so it can be sent with
// its exact length and retried) and, with S3's 10,000 parts, limits
// streamed objects to about 160 GiB.
const DefaultPartSize = 16 << 20

// minPartSize is S3's smallest allowed part (except the last).
const minPartSize = 5 << 20

// Config says where the bucket is and how to reach it.
type Config struct {
	// Endpoint is "host:port" or a URL "http(s)://host:port" (whose scheme
	// then decides Secure). Empty means AWS S3 ("s3.amazonaws.com").
	Endpoint string
	Bucket   string
	// Prefix is prepended to every key; "" or ending in "/".
	Prefix string
	Region string
	// Secure selects HTTPS.
	Secure bool
	// PathStyle forces path-style requests (http://host/bucket/key), which
	// most self-hosted servers need; otherwise minio-go chooses.
	PathStyle bool

	AccessKey    string
	SecretKey    string
	SessionToken string

	// CreateBucket creates the bucket in New when it does not exist.
	CreateBucket bool
	// PartSize is the multipart part size in bytes (0: DefaultPartSize;
	// at least 5 MiB).
	PartSize int64
	// MaxRetries of one request on transient failures (0: minio-go's
	// default of 10; 1: no retry).
	MaxRetries int
}

// ParseURL parses
//
//	s3://bucket/prefix?endpoint=host:port&region=r&secure=false&path_style=true&create_bucket=true
//
// taking the credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. Credentials in the URL itself are refused so that they
// never show up in a process list or a log. secure defaults to true.
func ParseURL(u string) (Config, error) {
	return ParseURLEnv(u, os.Getenv)
}

// ParseURLEnv is ParseURL with the environment read through getenv.
func ParseURLEnv(raw string, getenv func(string) string) (Config, error) {
	const op = "blob.s3.parseurl"
	invalid := func(format string, args ...any) (Config, error) {
		return Config{}, errs.Ef(errs.Invalid, op, "blob URL: "+format, args...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("cannot parse")
	}
	if u.Scheme != "s3" {
		return invalid("scheme must be s3, not %q", u.Scheme)
	}
	if u.User != nil {
		return invalid("credentials belong in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL")
	}
	cfg := Config{
		Bucket:       u.Host,
		Secure:       true,
		AccessKey:    getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN"),
		Region:       getenv("AWS_REGION"),
	}
	if cfg.Bucket == "" {
		return invalid("no bucket")
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	boolParam := func(name, v string) (bool, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, errs.Ef(errs.Invalid, op, "blob URL: %s must be true or false", name)
		}
		return b, nil
	}
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch name {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "secure":
			cfg.Secure, err = boolParam(name, v)
		case "path_style":
			cfg.PathStyle, err = boolParam(name, v)
		case "create_bucket":
			cfg.CreateBucket, err = boolParam(name, v)
		case "part_size":
			cfg.PartSize, err = strconv.ParseInt(v, 10, 64)
			if err != nil {
				err = errs.Ef(errs.Invalid, op, "blob URL: part_size must be a number of bytes")
			}
		default:
			return invalid("unknown parameter %q", name)
		}
		if err != nil {
			return Config{}, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the configuration without contacting the server.
func (c *Config) Validate() error {
	const op = "blob.s3.config"
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return errs.E(errs.Invalid, op, fmt.Sprintf("s3: invalid bucket name %q", c.Bucket), err)
	}
	if c.Prefix != "" && (!strings.HasSuffix(c.Prefix, "/") || blob.ValidKey(strings.TrimSuffix(c.Prefix, "/")) != nil) {
		return errs.Ef(errs.Invalid, op, "s3: invalid prefix %q", c.Prefix)
	}
	if c.PartSize != 0 && c.PartSize < minPartSize {
		return errs.Ef(errs.Invalid, op, "s3: part size must be at least 5 MiB")
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return errs.Ef(errs.Invalid, op, "s3: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
	}
	if _, _, err := c.endpoint(); err != nil {
		return err
	}
	return nil
}

// endpoint returns the host:port and whether to use TLS.
func (c *Config) endpoint() (string, bool, error) {
	ep, secure := c.Endpoint, c.Secure
	if ep == "" {
		return "s3.amazonaws.com", true, nil
	}
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return "", false, errs.Ef(errs.Invalid, "blob.s3.config", "s3: invalid endpoint %q", ep)
		}
		ep, secure = u.Host, u.Scheme == "https"
	}
	return ep, secure, nil
}

// Store is a blob.Store in an S3 bucket. Safe for concurrent use.
type Store struct {
	core     minio.Core // Core for GetObject that returns errors up front
	bucket   string
	prefix   string
	partSize int64
}

var _ blob.Store = (*Store)(nil)

// New connects to the server and checks that the bucket exists (creating
// it if cfg.CreateBucket). An unreachable server is errs.Unavailable, a
// missing bucket errs.NotFound.
func New(ctx context.Context, cfg Config) (*Store, error) {
	const op = "blob.s3.new"
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ep, secure, _ := cfg.endpoint()
	opts := &minio.Options{
		Secure:     secure,
		Region:     cfg.Region,
		MaxRetries: cfg.MaxRetries,
	}
	if cfg.AccessKey != "" {
		opts.Creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		opts.Creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(ep, opts)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "s3: invalid configuration", err)
	}
	s := &Store{
		core:     minio.Core{Client: client},
		bucket:   cfg.Bucket,
		prefix:   cfg.Prefix,
		partSize: cfg.PartSize,
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, mapErr(op, "", err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, errs.Ef(errs.NotFound, op, "s3 bucket %q does not exist", cfg.Bucket)
		}
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && err != nil {
			return nil, mapErr(op, "", err)
		}
	}
	return s, nil
}

// Ping checks that the bucket is reachable.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return mapErr("blob.s3.ping", "", err)
	}
	if !ok {
		return errs.Ef(errs.Unavailable, "blob.s3.ping", "s3 bucket %q is gone", s.bucket)
	}
	return nil
}

func (s *Store) object(key string) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put implements blob.Store. Objects up to the part size are read into
// memory first and sent in one PUT with their exact length (so the size
// hint may be wrong, and minio-go can retry a seekable body); larger ones
// stream as a multipart upload of part-size buffers.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	const op = "blob.s3.put"
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	capacity := int64(bytes.MinRead)
	if size >= 0 && size <= s.partSize {
		capacity = size + 1 // +1 so ReadFrom sees EOF without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, capacity))
	if _, err := buf.ReadFrom(io.LimitReader(r, s.partSize+1)); err != nil {
		return readErr(op, err)
	}
	if int64(buf.Len()) <= s.partSize {
		return s.put(ctx, op, obj, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	}
	rr := &recordingReader{r: r}
	err = s.put(ctx, op, obj, io.MultiReader(bytes.NewReader(buf.Bytes()), rr), -1)
	if rerr := rr.error(); rerr != nil {
		return readErr(op, rerr)
	}
	return err
}

func (s *Store) put(ctx context.Context, op, obj string, r io.Reader, size int64) error {
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    uint64(s.partSize),
	}
	_, err := s.core.Client.PutObject(ctx, s.bucket, obj, r, size, opts)
	// versitygw's posix backend removes emptied directories on delete and
	// races with a PUT that has just created the same directory, failing it
	// as "ExistingObjectIsDirectory". A replayable body is sent again.
	seeker, replayable := r.(io.Seeker)
	for try := 0; try < 3 && replayable && minio.ToErrorResponse(err).Code == "ExistingObjectIsDirectory"; try++ {
		if _, serr := seeker.Seek(0, io.SeekStart); serr != nil {
			break
		}
		_, err = s.core.Client.PutObject(ctx, s.bucket, obj, r, size, opts)
	}
	if err != nil {
		return mapErr(op, obj, err)
	}
	return nil
}

// recordingReader remembers the error of the caller's reader, which
// minio-go does not always wrap, so Put can return it with its kind.
type recordingReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF {
		rr.mu.Lock()
		rr.err = err
		rr.mu.Unlock()
	}
	return n, err
}

func (rr *recordingReader) error() error {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.err
}

// PutFile implements blob.Store. The file is uploaded (never moved); its
// size is known, so large files go up in parts read straight from the file.
func (s *Store) PutFile(ctx context.Context, key, path string) error {
	const op = "blob.s3.putfile"
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fileErr(op, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileErr(op, err)
	}
	if !fi.Mode().IsRegular() {
		return errs.Ef(errs.Invalid, op, "not a regular file")
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	// An *os.File gives minio-go ReadAt, so parts are read in place and
	// requests can be retried without buffering.
	return s.put(ctx, op, obj, f, fi.Size())
}

// Open implements blob.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.OpenRange(ctx, key, 0, -1)
}

// OpenRange implements blob.Store. The GET is sent before it returns, so a
// missing key is reported here and not on the first Read.
func (s *Store) OpenRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	const op = "blob.s3.open"
	obj, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if off < 0 || length < -1 {
		return nil, errs.Ef(errs.Invalid, op, "invalid range %d+%d", off, length)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxErr(op, err)
	}
	if length == 0 {
		// HTTP cannot ask for zero bytes; check the object exists instead.
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err = opts.SetRange(off, off+length-1)
	case off > 0:
		err = opts.SetRange(off, 0)
	}
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "invalid range", err)
	}
	body, _, _, err := s.core.GetObject(ctx, s.bucket, obj, opts)
	if err != nil {
		// A range starting at or past the end is "416 InvalidRange" in S3;
		// the contract says reading past the end returns what there is.
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			if _, err := s.Stat(ctx, key); err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, mapErr(op, obj, err)
	}
	return body, nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	const op = "blob.s3.stat"
	obj, err := s.object(key)
	if err != nil {
		return blob.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, ctxErr(op, err)
	}
	oi, err := s.core.Client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, mapErr(op, obj, err)
	}
	return blob.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// List implements blob.Store. S3 lists in UTF-8 binary order, which is Go's
// string order. Objects whose names are not valid keys (put there by other
// tools, or "directory" markers) are skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	const op = "blob.s3.list"
	if prefix != "" && blob.ValidKey(prefix+"x") != nil {
		return errs.Ef(errs.Invalid, "blob", "invalid blob prefix %q", prefix)
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	// Cancelling stops minio-go's listing goroutine when fn stops early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.prefix + prefix,
		Recursive: true,
	}) {
		if oi.Err != nil {
			return mapErr(op, "", oi.Err)
		}
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok || blob.ValidKey(key) != nil {
			continue
		}
		if err := fn(blob.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return err
		}
	}
	// The channel also closes when ctx is cancelled mid-listing.
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	return nil
}

// Delete implements blob.Store. S3 does not report deleting a missing key
// as an error, which is the contract.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "blob.s3.delete"
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(op, err)
	}
	err = s.core.Client.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(mapErr(op, obj, err), errs.NotFound) {
		return mapErr(op, obj, err)
	}
	return nil
}

// mapErr turns a minio-go error into an errs kind. obj names the object,
// for the message, and may be "".
func mapErr(op, obj string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ctxErr(op, err)
	}
	what := "s3"
	if obj != "" {
		what = fmt.Sprintf("blob %s", obj)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey", "NotFound", "NoSuchVersion":
		return errs.E(errs.NotFound, op, what+" not found", err)
	case "NoSuchBucket":
		return errs.E(errs.Unavailable, op, "s3 bucket is missing", err)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
		// The server refused our credentials: a configuration problem,
		// not the requester's, so it is not errs.Permission.
		return errs.E(errs.Unavailable, op, "s3 refused the credentials", err)
	case "ExistingObjectIsDirectory", "ObjectParentIsFile":
		// versitygw's posix backend: a key clashes with another key's
		// "directory" ("a" and "a/b"), as in blob/local.
		return errs.E(errs.Conflict, op, "blob key clashes with an existing key prefix", err)
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "XMinioServerNotInitialized":
		return errs.E(errs.Unavailable, op, "s3 is unavailable", err)
	}
	switch {
	case resp.StatusCode == 404:
		return errs.E(errs.NotFound, op, what+" not found", err)
	case resp.StatusCode == 429 || resp.StatusCode >= 500:
		return errs.E(errs.Unavailable, op, "s3 is unavailable", err)
	case resp.StatusCode == 403:
		return errs.E(errs.Unavailable, op, "s3 refused the credentials", err)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.E(errs.Unavailable, op, "cannot reach s3", err)
	}
	return errs.E(errs.Internal, op, "s3 error", err)
}

func fileErr(op string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.NotFound, op, "file not found", err)
	}
	return errs.E(errs.Internal, op, "cannot read file", err)
}

// readErr wraps an error from the caller's reader, keeping its kind (a size
// limit in the reader stays errs.TooLarge).
func readErr(op string, err error) error {
	if errs.KindOf(err) != errs.Internal {
		return fmt.Errorf("%s: %w", op, err)
	}
	return errs.E(errs.Internal, op, "reading the upload failed", err)
}

func ctxErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "request cancelled", err)
}

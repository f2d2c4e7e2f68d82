package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"

	"tuku/internal/blob"
	"tuku/internal/blob/blobtest"
	"tuku/internal/errs"
	"tuku/internal/testenv"
)

func TestParseURL(t *testing.T) {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":     "AKID",
		"AWS_SECRET_ACCESS_KEY": "SECRET",
		"AWS_SESSION_TOKEN":     "TOKEN",
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		url  string
		want Config
		bad  bool
	}{
		{url: "s3://photos", want: Config{Bucket: "photos", Secure: true}},
		{url: "s3://photos/tuku/blobs/?region=eu-west-1", want: Config{Bucket: "photos", Prefix: "tuku/blobs/", Region: "eu-west-1", Secure: true}},
		{
			url: "s3://bkt/p?endpoint=minio.local:9000&region=us-east-1&secure=false&path_style=true&create_bucket=1&part_size=8388608",
			want: Config{
				Endpoint: "minio.local:9000", Bucket: "bkt", Prefix: "p/", Region: "us-east-1",
				PathStyle: true, CreateBucket: true, PartSize: 8 << 20,
			},
		},
		{url: "s3://bkt?endpoint=http://127.0.0.1:7070", want: Config{Bucket: "bkt", Endpoint: "http://127.0.0.1:7070", Secure: true}},
		{url: "file:///data/blobs", bad: true},
		{url: "s3:///prefix", bad: true},
		{url: "s3://user:pass@bucket/p", bad: true},
		{url: "s3://bkt?secure=maybe", bad: true},
		{url: "s3://bkt?endpont=x", bad: true},
		{url: "s3://bkt/UPPER", bad: true},
		{url: "s3://bkt/a/../b", bad: true},
		{url: "s3://bkt?part_size=1000", bad: true},
		{url: "s3://x", bad: true}, // bucket names have 3 to 63 characters
		{url: "s3://Bad_Bucket", bad: true},
		{url: "s3://bkt?endpoint=ftp://host", bad: true},
		{url: "s3://bkt?endpoint=http://host/path", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseURLEnv(tc.url, getenv)
		if tc.bad {
			if !errors.Is(err, errs.Invalid) {
				t.Errorf("ParseURL(%q) = %+v, %v; want an invalid error", tc.url, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		tc.want.AccessKey, tc.want.SecretKey, tc.want.SessionToken = "AKID", "SECRET", "TOKEN"
		if got != tc.want {
			t.Errorf("ParseURL(%q) =\n %+v\nwant\n %+v", tc.url, got, tc.want)
		}
	}
	// The endpoint's scheme decides TLS.
	cfg := Config{Bucket: "bkt", Endpoint: "http://h:1", Secure: true}
	if ep, secure, err := cfg.endpoint(); ep != "h:1" || secure || err != nil {
		t.Errorf("endpoint() = %q, %v, %v", ep, secure, err)
	}
	if _, err := ParseURLEnv("s3://bkt", func(k string) string {
		if k == "AWS_ACCESS_KEY_ID" {
			return "only-id"
		}
		return ""
	}); !errors.Is(err, errs.Invalid) {
		t.Errorf("an access key without a secret was accepted: %v", err)
	}
}

// server is one S3 server for a test and its subtests.
type server struct {
	endpoint, access, secret string
}

func newServer(t *testing.T) server {
	ep, ak, sk := testenv.S3(t)
	return server{ep, ak, sk}
}

func (sv server) config(bucket, prefix string) Config {
	return Config{
		Endpoint: sv.endpoint, Bucket: bucket, Prefix: prefix, Region: "us-east-1",
		PathStyle: true, AccessKey: sv.access, SecretKey: sv.secret,
		CreateBucket: true,
		// The smallest part size, so blobtest's few-MB objects take the
		// multipart path.
		PartSize: minPartSize,
	}
}

// newStore creates a store on a fresh bucket and removes the bucket (and
// everything in it) when the test ends, so a shared server stays clean.
func (sv server) newStore(t *testing.T, bucket, prefix string) *Store {
	t.Helper()
	s, err := New(t.Context(), sv.config(bucket, prefix))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := s.core.Client
		for oi := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if oi.Err == nil {
				c.RemoveObject(ctx, bucket, oi.Key, minio.RemoveObjectOptions{})
			}
		}
		c.RemoveBucket(ctx, bucket) // fails harmlessly if another store still uses it
	})
	return s
}

func TestConformance(t *testing.T) {
	sv := newServer(t)
	start := time.Now()
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return sv.newStore(t, testenv.S3Bucket(t), "")
	})
	t.Logf("conformance suite against %s took %v", sv.endpoint, time.Since(start))
}

func TestConformanceWithPrefix(t *testing.T) {
	sv := newServer(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return sv.newStore(t, testenv.S3Bucket(t), "tenant/blobs/")
	})
}

func TestPrefixesIsolate(t *testing.T) {
	sv := newServer(t)
	ctx := t.Context()
	bucket := testenv.S3Bucket(t)
	a := sv.newStore(t, bucket, "a/")
	b := sv.newStore(t, bucket, "b/")
	if err := a.Put(ctx, "x", strings.NewReader("from a"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "x"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("store b sees store a's object: %v", err)
	}
	var keys []string
	if err := b.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil || len(keys) != 0 {
		t.Fatalf("store b lists %q, %v", keys, err)
	}
	if err := a.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil || !slices.Equal(keys, []string{"x"}) {
		t.Fatalf("store a lists %q, %v; want [x] without its prefix", keys, err)
	}
	// Objects outside the key rules (written by other tools) are skipped.
	if _, err := a.core.Client.PutObject(ctx, bucket, "a/Foreign Name", strings.NewReader("?"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	keys = nil
	if err := a.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil || !slices.Equal(keys, []string{"x"}) {
		t.Fatalf("store a lists %q, %v; want [x]", keys, err)
	}
}

func TestMissingBucket(t *testing.T) {
	sv := newServer(t)
	cfg := sv.config(testenv.S3Bucket(t), "")
	cfg.CreateBucket = false
	if _, err := New(t.Context(), cfg); !errors.Is(err, errs.NotFound) {
		t.Fatalf("New on a missing bucket = %v, want not found", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	sv := newServer(t)
	s := sv.newStore(t, testenv.S3Bucket(t), "")
	cfg := sv.config(s.bucket, "")
	cfg.SecretKey = "wrong-" + cfg.SecretKey
	cfg.MaxRetries = 1
	_, err := New(t.Context(), cfg)
	if !errors.Is(err, errs.Unavailable) {
		t.Fatalf("New with a wrong secret = %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
}

func TestUnreachable(t *testing.T) {
	// Nothing listens on port 1 of the loopback interface.
	cfg := Config{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", Region: "us-east-1", PathStyle: true, MaxRetries: 1}
	start := time.Now()
	_, err := New(t.Context(), cfg)
	if !errors.Is(err, errs.Unavailable) {
		t.Fatalf("New on an unreachable server = %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("giving up took %v", d)
	}
}

func TestNewDoesNotLeakCredentials(t *testing.T) {
	_, err := New(t.Context(), Config{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKey: "AKIDSECRETID", SecretKey: "supersecretvalue", MaxRetries: 1})
	if err == nil {
		t.Fatal("expected an error")
	}
	if msg := errs.Message(err); strings.Contains(msg, "supersecretvalue") || strings.Contains(err.Error(), "supersecretvalue") {
		t.Fatalf("error mentions the secret: %v", err)
	}
}

// A streamed (multipart) Put whose reader fails must abort its upload, not
// leave parts behind on the server.
func TestFailedMultipartIsAborted(t *testing.T) {
	sv := newServer(t)
	ctx := t.Context()
	s := sv.newStore(t, testenv.S3Bucket(t), "")
	boom := errors.New("client went away")
	r := io.MultiReader(bytes.NewReader(blobtest.Data(1, 3*minPartSize)), iotest.ErrReader(boom))
	if err := s.Put(ctx, "big/x", r, -1); !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want the reader's error", err)
	}
	for u := range s.core.Client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		t.Errorf("incomplete upload left behind: %q (%s)", u.Key, u.UploadID)
	}
	if _, err := s.Stat(ctx, "big/x"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("Stat after failed Put = %v, want not found", err)
	}
}

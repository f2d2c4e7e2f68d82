package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// S3 returns an S3-compatible server for the test: endpoint is a URL
// ("http://127.0.0.1:PORT"), with root credentials. It uses the server
// named by TUKU_TEST_S3_ENDPOINT (with TUKU_TEST_S3_ACCESS_KEY and
// TUKU_TEST_S3_SECRET_KEY) when set; otherwise it starts a private
// versitygw (from $TUKU_VERSITYGW, PATH or $(go env GOPATH)/bin; see
// scripts/s3.sh) on a free loopback port with a posix backend in a
// temporary directory, stopped when the test ends. Without either it calls
// Missing. Tests share a server but must each use their own bucket: see
// S3Bucket.
func S3(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	if ep := os.Getenv("TUKU_TEST_S3_ENDPOINT"); ep != "" {
		if !strings.Contains(ep, "://") {
			ep = "http://" + ep
		}
		return ep, os.Getenv("TUKU_TEST_S3_ACCESS_KEY"), os.Getenv("TUKU_TEST_S3_SECRET_KEY")
	}
	bin := findVersitygw()
	if bin == "" {
		Missing(t, "s3", "set TUKU_TEST_S3_ENDPOINT or install versitygw (scripts/s3.sh)")
		return "", "", ""
	}
	accessKey, secretKey = "tuku"+randomHex(t, 8), randomHex(t, 20)
	var lastErr error
	// A free port can be taken between choosing and binding it: retry.
	for range 3 {
		endpoint, lastErr = startVersitygw(t, bin, accessKey, secretKey)
		if lastErr == nil {
			return endpoint, accessKey, secretKey
		}
	}
	Missing(t, "s3", "versitygw did not start: "+lastErr.Error())
	return "", "", ""
}

// S3Bucket returns a new random bucket name (not yet created), so that
// tests never see each other's objects.
func S3Bucket(t testing.TB) string {
	t.Helper()
	return "tuku-test-" + randomHex(t, 8)
}

func findVersitygw() string {
	if p := os.Getenv("TUKU_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

func startVersitygw(t testing.TB, bin, accessKey, secretKey string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return "", err
	}
	addr, err := freePort()
	if err != nil {
		return "", err
	}
	// Output goes to a file, not a pipe: a server orphaned by a killed test
	// binary must not hold go test's output open.
	logPath := filepath.Join(dir, "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", data)
	// Credentials through the environment keep them out of the process list.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+accessKey, "ROOT_SECRET_ACCESS_KEY="+secretKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	endpoint := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Any answer from versitygw (403 without credentials) means it is
		// serving; another program that took the port meanwhile is not it.
		if resp, err := client.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			if strings.Contains(strings.ToLower(resp.Header.Get("Server")), "versitygw") {
				t.Cleanup(stop)
				return endpoint, nil
			}
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("versitygw exited: %s", strings.TrimSpace(string(out)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			out, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("versitygw did not answer on %s within 15s: %s", addr, strings.TrimSpace(string(out)))
		}
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

#!/usr/bin/env bash
# Ensures versitygw, the S3-compatible server the blob/s3 tests start (see
# internal/testenv/s3.go), is installed in $(go env GOPATH)/bin at the pinned
# version. Idempotent: does nothing when that version is already there.
# A failed install fails the script where S3 tests are required
# (TUKU_TEST_REQUIRE=all or a list naming s3, as in CI) and only warns
# elsewhere, where the S3 tests then skip.
set -euo pipefail

VERSION=v1.8.0
MODULE=github.com/versity/versitygw

if [[ -n "${TUKU_TEST_S3_ENDPOINT:-}" ]]; then
	exit 0 # the tests use that server instead
fi

bin="$(go env GOPATH | cut -d: -f1)/bin/versitygw"
if [[ -n "${TUKU_VERSITYGW:-}" && -x "${TUKU_VERSITYGW}" ]]; then
	bin="$TUKU_VERSITYGW"
fi

installed=""
if [[ -x "$bin" ]]; then
	installed="$(go version -m "$bin" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 }')"
fi
if [[ "$installed" == "$VERSION" ]]; then
	exit 0
fi

echo "s3.sh: installing versitygw $VERSION (S3 server for tests; takes a few minutes the first time)" >&2
# Outside the repository so its go.mod and GOFLAGS do not interfere.
if ! (cd / && GOFLAGS= go install "$MODULE/cmd/versitygw@$VERSION"); then
	case ",${TUKU_TEST_REQUIRE:-}," in
	*,all,* | *,s3,*)
		echo "s3.sh: error: could not install versitygw $VERSION" >&2
		exit 1
		;;
	esac
	echo "s3.sh: warning: could not install versitygw $VERSION; S3 tests will skip" >&2
fi

package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus collectors. Labels are bounded: the
// route is a registered pattern (or "unmatched"), never a raw path.
type metrics struct {
	requests    *prometheus.CounterVec   // route, code
	duration    *prometheus.HistogramVec // route
	inflight    prometheus.Gauge
	uploads     *prometheus.CounterVec // outcome: imported, duplicate, rejected; code: error kind
	uploadBytes prometheus.Counter
	handler     http.Handler
}

func newMetrics(reg *prometheus.Registry) *metrics {
	return &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuku_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tuku_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"})),
		inflight: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tuku_http_requests_in_flight",
			Help: "HTTP requests being served.",
		})),
		uploads: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuku_uploads_total",
			Help: "API uploads by outcome (imported, duplicate, rejected) and error code.",
		}, []string{"outcome", "code"})),
		uploadBytes: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tuku_upload_bytes_total",
			Help: "Bytes of newly imported uploads.",
		})),
	}
}

// register adds c to reg, or returns the collector already registered
// under the same description, so two handlers can share one registry.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex
			}
		}
		panic("httpapi: metrics: " + err.Error()) // two different metrics under one name: a bug
	}
	return c
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, statusLabel(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// statusLabel avoids an allocation for the common codes.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 206:
		return "206"
	case 304:
		return "304"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

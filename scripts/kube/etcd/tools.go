//go:build tools

// The binary built from this module; nothing here is compiled into ws2otel.
package tools

import _ "go.etcd.io/etcd/server/v3"

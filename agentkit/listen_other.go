//go:build !linux

package agentkit

import "net"

// queued cannot tell the length of the accept queue outside Linux; the
// drain's sweep then waits backlogSweep for each next connection.
func queued(net.Listener) (int, bool) { return 0, false }

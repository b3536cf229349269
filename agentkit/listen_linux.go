package agentkit

import (
	"net"
	"syscall"
	"unsafe"
)

// queued returns how many connections the kernel has completed and not yet
// handed to Accept, and whether it could tell: Linux reports the length of
// a listening socket's accept queue in the unacked field of its tcp_info.
// The drain's sweep takes exactly those, instead of guessing from a
// deadline, which a descheduled goroutine can miss on a loaded machine.
func queued(l net.Listener) (int, bool) {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info syscall.TCPInfo
	size := uint32(syscall.SizeofTCPInfo)
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		// syscall has the TCPInfo type but no getter for it; the standard
		// library is all agentkit may use.
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(info.Unacked), true
}

//go:build linux || darwin

package main

import (
	"fmt"
	"syscall"
)

// freeSpace returns the bytes of path's file system available to an unprivileged
// process (statfs's f_bavail, not the blocks kept for root).
func freeSpace(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

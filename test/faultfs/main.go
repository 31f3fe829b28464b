// faultfs mounts a directory through FUSE, passing every operation through to it, except that
// fsync and fdatasync fail with EIO while a flag file exists: a disk that stops making writes
// durable, for the tests of what the audit store does then (test/e2e/durability.test.ts). Nothing
// else about the file system changes, so SQLite (WAL, shared memory, locks) runs on it as on disk.
//
// Usage: faultfs MOUNTPOINT BACKING_DIR FLAG_FILE
// Prints "mounted" on stdout once the mount serves. Unmounts on SIGTERM or SIGINT, or when stdin
// closes: the test process that started it is gone, and a mount must not outlive it.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// faultyNode is a loopback node whose fsyncs fail while the flag file exists. Every node below the
// root is one too (WrapChild), so files created through the mount behave the same.
type faultyNode struct {
	*fs.LoopbackNode
	flag string
}

var (
	_ fs.NodeFsyncer     = (*faultyNode)(nil)
	_ fs.NodeWrapChilder = (*faultyNode)(nil)
)

func (n *faultyNode) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &faultyNode{LoopbackNode: ops.(*fs.LoopbackNode), flag: n.flag}
}

// Fsync serves fsync and fdatasync on files, and fsync on directories.
func (n *faultyNode) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if _, err := os.Stat(n.flag); err == nil {
		return syscall.EIO
	}
	if syncer, ok := f.(fs.FileFsyncer); ok {
		return syncer.Fsync(ctx, flags)
	}
	// A directory handle, or none: sync the backing directory or file by path.
	fd, err := syscall.Open(filepath.Join(n.RootData.Path, n.Path(n.Root())), syscall.O_RDONLY, 0)
	if err != nil {
		return fs.ToErrno(err)
	}
	defer syscall.Close(fd)
	return fs.ToErrno(syscall.Fsync(fd))
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: faultfs MOUNTPOINT BACKING_DIR FLAG_FILE")
		os.Exit(2)
	}
	mountpoint, backing, flag := os.Args[1], os.Args[2], os.Args[3]
	root, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		log.Fatalf("faultfs: %v", err)
	}
	loopback := root.(*fs.LoopbackNode)
	node := &faultyNode{LoopbackNode: loopback, flag: flag}
	loopback.RootData.RootNode = node
	server, err := fs.Mount(mountpoint, node, &fs.Options{
		NullPermissions: true,
		MountOptions: fuse.MountOptions{
			// mount(2) directly when privileged; fusermount otherwise.
			DirectMount: true,
			FsName:      backing,
			Name:        "faultfs",
		},
	})
	if err != nil {
		log.Fatalf("faultfs: mount %s: %v", mountpoint, err)
	}
	fmt.Println("mounted")

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop <- syscall.SIGHUP
	}()
	go func() {
		<-stop
		if err := server.Unmount(); err != nil {
			// Still in use (a process that was killed may hold files open): detach it from the
			// tree now; the kernel lets go of it when the last file closes.
			log.Printf("faultfs: unmount: %v; detaching", err)
			if err := syscall.Unmount(mountpoint, syscall.MNT_DETACH); err != nil {
				log.Printf("faultfs: detach: %v", err)
			}
			os.Exit(1)
		}
	}()
	server.Wait()
}

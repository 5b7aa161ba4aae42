// Command podresources-server is a test peer for nodetap: a stand-in for the kubelet's
// pod-resources endpoint (/var/lib/kubelet/pod-resources/kubelet.sock) that serves the real
// v1.PodResourcesLister gRPC service, with the generated types and service descriptor of
// k8s.io/kubelet/pkg/apis/podresources/v1, from a JSON file it re-reads on every request.
//
// Usage: podresources-server --socket PATH --data FILE
//
// The data file (every key optional):
//
//	{
//	  "list":        { "podResources": [...] },  // v1.ListPodResourcesResponse in protobuf JSON
//	  "allocatable": { "devices": [...] },       // v1.AllocatableResourcesResponse in protobuf JSON
//	  "error":       { "code": "UNAVAILABLE", "message": "..." },  // every call fails with this status
//	  "delayMs":     0                           // every call answers this late (or when the client gives up)
//	}
//
// Get answers the pod of that name and namespace from "list", and fails as the kubelet does (an
// error without a gRPC code, so code UNKNOWN) when there is none. A data file that cannot be read
// or parsed makes every call fail with INTERNAL, naming the problem.
//
// It prints "listening on PATH" on stdout once the socket accepts connections, and stops on
// SIGTERM or SIGINT (removing the socket).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

type dataFile struct {
	List        json.RawMessage `json:"list"`
	Allocatable json.RawMessage `json:"allocatable"`
	Error       *struct {
		Code    codes.Code `json:"code"`
		Message string     `json:"message"`
	} `json:"error"`
	DelayMs int64 `json:"delayMs"`
}

type server struct {
	podresourcesv1.UnimplementedPodResourcesListerServer
	dataPath string
}

// load reads the data file afresh, waits delayMs, and returns the configured error if any.
func (s *server) load(ctx context.Context) (*dataFile, error) {
	raw, err := os.ReadFile(s.dataPath)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "podresources-server: reading %s: %v", s.dataPath, err)
	}
	var d dataFile
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, status.Errorf(codes.Internal, "podresources-server: parsing %s: %v", s.dataPath, err)
	}
	if d.DelayMs > 0 {
		select {
		case <-time.After(time.Duration(d.DelayMs) * time.Millisecond):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if d.Error != nil {
		return nil, status.Error(d.Error.Code, d.Error.Message)
	}
	return &d, nil
}

func (s *server) List(ctx context.Context, _ *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	d, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	resp := &podresourcesv1.ListPodResourcesResponse{}
	if len(d.List) > 0 && string(d.List) != "null" {
		if err := protojson.Unmarshal(d.List, resp); err != nil {
			return nil, status.Errorf(codes.Internal, "podresources-server: %s: \"list\" is not a v1.ListPodResourcesResponse: %v", s.dataPath, err)
		}
	}
	return resp, nil
}

func (s *server) GetAllocatableResources(ctx context.Context, _ *podresourcesv1.AllocatableResourcesRequest) (*podresourcesv1.AllocatableResourcesResponse, error) {
	d, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	resp := &podresourcesv1.AllocatableResourcesResponse{}
	if len(d.Allocatable) > 0 && string(d.Allocatable) != "null" {
		if err := protojson.Unmarshal(d.Allocatable, resp); err != nil {
			return nil, status.Errorf(codes.Internal, "podresources-server: %s: \"allocatable\" is not a v1.AllocatableResourcesResponse: %v", s.dataPath, err)
		}
	}
	return resp, nil
}

func (s *server) Get(ctx context.Context, req *podresourcesv1.GetPodResourcesRequest) (*podresourcesv1.GetPodResourcesResponse, error) {
	list, err := s.List(ctx, &podresourcesv1.ListPodResourcesRequest{})
	if err != nil {
		return nil, err
	}
	for _, p := range list.GetPodResources() {
		if p.GetName() == req.GetPodName() && p.GetNamespace() == req.GetPodNamespace() {
			return &podresourcesv1.GetPodResourcesResponse{PodResources: p}, nil
		}
	}
	// The kubelet's words (pkg/kubelet/apis/podresources/server_v1.go): a plain error, code UNKNOWN.
	return nil, fmt.Errorf("pod %s in namespace %s not found", req.GetPodName(), req.GetPodNamespace())
}

func main() {
	socket := flag.String("socket", "", "unix socket to listen on (replaced if it exists)")
	data := flag.String("data", "", "JSON file with the replies, re-read on every request")
	flag.Parse()
	if *socket == "" || *data == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: podresources-server --socket PATH --data FILE")
		os.Exit(2)
	}
	if err := os.Remove(*socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "podresources-server: removing stale %s: %v\n", *socket, err)
		os.Exit(1)
	}
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "podresources-server: %v\n", err)
		os.Exit(1)
	}
	// grpc-go's default limits, as the kubelet's server has (its own client accepts replies up to
	// 16 MiB; the server sends however much it has).
	srv := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(srv, &server{dataPath: *data})

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			srv.Stop()
		}
	}()
	fmt.Printf("listening on %s\n", *socket)
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "podresources-server: %v\n", err)
		os.Exit(1)
	}
	_ = os.Remove(*socket)
}

// The only program in the kdbgtest/grpc-app image (no shell): an app that speaks HTTP and gRPC.
//
// Usage: /app [--http-port=N] [--grpc-port=N] [--message=TEXT]
// HTTP on :8080 answers "TEXT\n" to GET / and logs one line per request; gRPC on :9090 serves the standard
// health service (grpc.health.v1.Health, status SERVING) and server reflection, so grpcurl can list and call it
// without any .proto file. Exits 0 on SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

func main() {
	httpPort := flag.Int("http-port", 8080, "HTTP port")
	grpcPort := flag.Int("grpc-port", 9090, "gRPC port")
	message := flag.String("message", "hello from kdbgtest grpc-app", "the HTTP answer")
	flag.Parse()
	log.SetFlags(0)
	log.SetOutput(os.Stdout)

	listener, err := net.Listen("tcp", fmt.Sprintf(":%d", *grpcPort))
	if err != nil {
		log.Fatalf("grpc listen: %v", err)
	}
	server := grpc.NewServer()
	healthServer := health.NewServer()
	healthServer.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(server, healthServer)
	reflection.Register(server)
	go func() {
		if err := server.Serve(listener); err != nil {
			log.Fatalf("grpc serve: %v", err)
		}
	}()

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, *message)
		log.Printf("%s %s 200 from %s", r.Method, r.URL.Path, r.RemoteAddr)
	})
	go func() {
		if err := http.ListenAndServe(fmt.Sprintf(":%d", *httpPort), nil); err != nil {
			log.Fatalf("http serve: %v", err)
		}
	}()
	log.Printf("grpc-app: http on :%d, grpc on :%d", *httpPort, *grpcPort)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	server.Stop()
}

package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pave-dev/pave/internal/store"
)

// NATSServer configures one server of the loopback JetStream cluster that
// RunCluster starts, each in a process of its own so that its processor
// time can be read apart from pave's.
type NATSServer struct {
	Name        string
	StoreDir    string
	ClusterPort int
	// Routes are the cluster ports of every server, this one included.
	Routes []int
}

// natsReady starts the line a server child prints on its standard output
// once it accepts connections, followed by its client URL.
const natsReady = "ready"

// ServeNATS runs the server s describes on loopback, configured as
// docs/OPERATIONS.md asks of a cluster under pave (JetStream on file
// storage synced on every write, max_payload of pave's largest value),
// prints "ready URL" on out once it accepts connections, and runs until
// ctx is done.
func ServeNATS(ctx context.Context, s NATSServer, out io.Writer) error {
	if s.Name == "" || s.StoreDir == "" || s.ClusterPort <= 0 || len(s.Routes) == 0 {
		return errors.New("a name, a store directory, a cluster port and the routes are needed")
	}
	var routes []*url.URL
	for _, p := range s.Routes {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: s.Name,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   s.StoreDir,
		SyncAlways: true,
		MaxPayload: store.MaxPayload,
		Cluster:    server.ClusterOpts{Name: "pave-bench", Host: "127.0.0.1", Port: s.ClusterPort},
		Routes:     routes,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		return err
	}
	srv.Start()
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	if !srv.ReadyForConnections(30 * time.Second) {
		return fmt.Errorf("nats server %s not ready within 30s", s.Name)
	}
	fmt.Fprintln(out, natsReady, srv.ClientURL())
	<-ctx.Done()
	return nil
}

// NATSCommand is the pave command, hidden from its help, that runs
// ServeNATS in a child process of RunCluster, with the arguments
// NATSServer.args gives and ParseNATSServer reads.
const NATSCommand = "bench-nats-server"

// args is the command line of s after NATSCommand.
func (s NATSServer) args() []string {
	routes := make([]string, len(s.Routes))
	for i, p := range s.Routes {
		routes[i] = strconv.Itoa(p)
	}
	return []string{"--name", s.Name, "--store", s.StoreDir, "--cluster-port", strconv.Itoa(s.ClusterPort), "--routes", strings.Join(routes, ",")}
}

// ParseNATSServer reads the arguments of NATSCommand.
func ParseNATSServer(args []string) (NATSServer, error) {
	var s NATSServer
	var routes string
	fs := flag.NewFlagSet(NATSCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.Name, "name", "", "server name")
	fs.StringVar(&s.StoreDir, "store", "", "JetStream store directory")
	fs.IntVar(&s.ClusterPort, "cluster-port", 0, "loopback port of the cluster listener")
	fs.StringVar(&routes, "routes", "", "comma-separated cluster ports of every server")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, r := range strings.Split(routes, ",") {
		p, err := strconv.Atoi(r)
		if err != nil {
			return s, fmt.Errorf("--routes %q: want ports separated by commas", routes)
		}
		s.Routes = append(s.Routes, p)
	}
	return s, nil
}

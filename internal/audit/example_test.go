package audit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/secret"
)

func ExampleAuditor() {
	ctx := context.Background()
	// The daemon uses audit.OpenStream and audit.LoadOrCreateKey (a 0600
	// file next to the secrets master key); here, memory.
	log := &audit.MemLog{}
	key, _ := audit.GenerateKey()
	a, err := audit.New(log, key, audit.Options{SealEvery: 3})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Name secrets and keys, never their values: a secret.Value formats
	// as [REDACTED], and so does anything that looks like a credential.
	token := secret.Value("pave_k_not-for-the-log")
	events := []audit.Event{
		audit.NewEvent(audit.ActorAdmin, audit.ActionDeploy, audit.Ref("function", "orders")).
			From("127.0.0.1:50312").With("version", 3),
		audit.NewEvent(audit.ActorAdmin, audit.ActionSecretSet, audit.Ref("secret", "DB_URL")).
			With("version", 2).With("value", token),
		audit.NewEvent(audit.Ref("function", "orders"), audit.ActionCapabilityDenied, audit.Ref("kv", "prices")).
			Deny("not granted"),
		audit.NewEvent(audit.ActorAdmin, audit.ActionRollback, audit.Ref("function", "orders")).
			Fail(errors.New("version 9 does not exist")),
	}
	for _, ev := range events {
		if err := a.Record(ctx, ev); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := a.Seal(ctx); err != nil { // on a ticker and at shutdown: a.Run
		fmt.Println(err)
		return
	}

	audit.Events(ctx, log, time.Time{}, func(e audit.Event) error {
		fmt.Println(e.Seq, e.Actor, e.Action, e.Target, e.Outcome, e.Details)
		return nil
	})
	rep, err := a.Verify(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ok=%v events=%d seals=%d unsealed=%d\n", rep.OK(), rep.Events, rep.Seals, rep.Unsealed)
	// Output:
	// 1 admin function.deploy function:orders ok map[version:3]
	// 2 admin secret.set secret:DB_URL ok map[value:[REDACTED] version:2]
	// 3 function:orders capability.denied kv:prices denied map[reason:not granted]
	// 5 admin function.rollback function:orders failed map[error:version 9 does not exist]
	// ok=true events=4 seals=2 unsealed=0
}

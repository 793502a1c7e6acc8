package main

// The machine side of the tink server's protocol, for genesis' lab simulator:
// a client of the upstream WorkflowService (github.com/tinkerbell/tinkerbell
// pkg/proto, generated code) that runs no container. Which outcome each
// action has, and when, is decided by whoever drives this process:
//
//	genesis-tinkerbell agent --server 127.0.0.1:PORT --worker-id ID [--mac MAC]
//
// Loop: GetAction(agent_id) → ReportActionStatus(RUNNING) → print the served
// action as one JSON line {"event":"action",...} → read one line on stdin,
// "success" or "failed MESSAGE" → ReportActionStatus(SUCCESS or FAILED, with
// execution start, stop and duration) → print {"event":"reported",...} →
// again. GetAction errors (the server answers NotFound or FailedPrecondition
// while no Workflow is runnable for this agent) are printed as
// {"event":"waiting",...} and asked again. A status report the server refuses
// is printed as {"event":"error",...} and ends the process with exit code 1.
// stdin closing ends it with exit code 0.
//
// The worker id is what a booted machine's agent gets from its kernel command
// line: Smee's iPXE script passes worker_id = the Hardware's spec.agentID, or
// else the MAC of the netbooting interface (smee/internal/ipxe/script/ipxe.go,
// defaultScript). The server serves an action only to the agent id the
// Workflow's task names (tink/server/internal/grpc/grpc.go, doGetAction: the
// Workflows are listed by the .status.agentID index, and the task's agentID
// must equal the request's).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tinkerbell/tinkerbell/pkg/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func runAgent(args []string) error {
	flags := flag.NewFlagSet("genesis-tinkerbell agent", flag.ExitOnError)
	server := flags.String("server", "", "the tink server's gRPC address HOST:PORT (plaintext; required)")
	workerID := flags.String("worker-id", "", "the agent id to ask actions for (required)")
	mac := flags.String("mac", "", "the MAC reported as the machine's network interface in the agent attributes (optional)")
	retry := flags.Duration("retry-interval", time.Second, "pause between GetAction calls that found no action")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *server == "" || *workerID == "" {
		return errors.New("--server and --worker-id are required")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	answers := make(chan string)
	go func() {
		// stdin closing ends the agent: the machine was switched off.
		defer cancel()
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			select {
			case answers <- strings.TrimSpace(scanner.Text()):
			case <-ctx.Done():
				return
			}
		}
	}()

	conn, err := grpc.NewClient(*server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", *server, err)
	}
	defer conn.Close()
	client := proto.NewWorkflowServiceClient(conn)
	out := json.NewEncoder(os.Stdout)
	emit := func(fields map[string]any) {
		_ = out.Encode(fields)
	}
	emit(map[string]any{"event": "started", "server": *server, "worker_id": *workerID})

	request := &proto.ActionRequest{AgentId: workerID, AgentAttributes: attributes(*mac)}
	for {
		action, err := client.GetAction(ctx, request)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			st, _ := status.FromError(err)
			emit(map[string]any{"event": "waiting", "code": st.Code().String(), "message": st.Message()})
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*retry):
			}
			continue
		}

		started := time.Now().UTC()
		if err := report(ctx, client, action, proto.ActionStatusRequest_RUNNING, started, time.Time{}, "running action"); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			emit(reportError(action, "RUNNING", err))
			return fmt.Errorf("reporting RUNNING for action %s: %w", action.GetActionId(), err)
		}
		emit(map[string]any{
			"event":       "action",
			"workflow_id": action.GetWorkflowId(),
			"task_id":     action.GetTaskId(),
			"agent_id":    action.GetAgentId(),
			"action_id":   action.GetActionId(),
			"name":        action.GetName(),
			"image":       action.GetImage(),
			"timeout":     action.GetTimeout(),
			"command":     action.GetCommand(),
			"volumes":     action.GetVolumes(),
			"environment": action.GetEnvironment(),
		})

		var answer string
		select {
		case <-ctx.Done():
			return nil
		case answer = <-answers:
		}
		verdict, message, _ := strings.Cut(answer, " ")
		state := proto.ActionStatusRequest_SUCCESS
		switch verdict {
		case "success":
			message = "action completed"
		case "failed":
			state = proto.ActionStatusRequest_FAILED
			if message == "" {
				message = "action failed"
			}
		default:
			return fmt.Errorf("answer %q for action %s: want \"success\" or \"failed MESSAGE\"", answer, action.GetActionId())
		}
		if err := report(ctx, client, action, state, started, time.Now().UTC(), message); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			emit(reportError(action, state.String(), err))
			return fmt.Errorf("reporting %s for action %s: %w", state, action.GetActionId(), err)
		}
		emit(map[string]any{"event": "reported", "action_id": action.GetActionId(), "name": action.GetName(), "state": state.String()})
	}
}

// report sends one ActionStatusRequest for the served action.
func report(ctx context.Context, client proto.WorkflowServiceClient, action *proto.ActionResponse, state proto.ActionStatusRequest_StateType, start, stop time.Time, message string) error {
	request := &proto.ActionStatusRequest{
		WorkflowId:     ptr(action.GetWorkflowId()),
		AgentId:        ptr(action.GetAgentId()),
		TaskId:         ptr(action.GetTaskId()),
		ActionId:       ptr(action.GetActionId()),
		ActionName:     ptr(action.GetName()),
		ActionState:    &state,
		ExecutionStart: timestamppb.New(start),
		Message:        &proto.ActionMessage{Message: ptr(message)},
	}
	if !stop.IsZero() {
		request.ExecutionStop = timestamppb.New(stop)
		request.ExecutionDuration = ptr(stop.Sub(start).Round(time.Millisecond).String())
	}
	_, err := client.ReportActionStatus(ctx, request)
	return err
}

// attributes: what the machine tells the server about itself. The server
// stores them once, on the first action, as the Hardware's
// tinkerbell.org/agent-attributes annotation
// (tink/server/internal/grpc/grpc.go, resolveAndAnnotateHardware).
func attributes(mac string) *proto.AgentAttributes {
	if mac == "" {
		return nil
	}
	return &proto.AgentAttributes{
		Network: []*proto.Network{{Name: ptr("eth0"), Mac: ptr(mac)}},
		Product: &proto.Product{Vendor: ptr("genesis labsim"), Name: ptr("simulated machine")},
	}
}

func reportError(action *proto.ActionResponse, state string, err error) map[string]any {
	st, _ := status.FromError(err)
	return map[string]any{
		"event": "error", "stage": "report " + state, "action_id": action.GetActionId(),
		"code": st.Code().String(), "message": st.Message(),
	}
}

func ptr[T any](v T) *T { return &v }

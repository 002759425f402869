// The app's work queue: one task at a time (loading models, classifying, layer responses), in order.
// Cancel marks the running task cancelled and drops the queued ones; the caller stops the work itself
// (by terminating the inference worker).

export interface Task {
  readonly label: string;
  cancelled: boolean;
}

export interface TaskEvents {
  /** A task started (its label), or the queue ran empty (null). */
  busy(label: string | null): void;
  /** A task that was not cancelled threw. */
  failed(task: Task, error: unknown): void;
}

export class TaskQueue {
  private readonly queue: { task: Task; run: (t: Task) => Promise<void> }[] = [];
  private running: Task | null = null;

  constructor(private readonly events: TaskEvents) {}

  /** The task running now, if any. */
  get current(): Task | null {
    return this.running;
  }

  enqueue(label: string, run: (t: Task) => Promise<void>): void {
    this.queue.push({ task: { label, cancelled: false }, run });
    if (!this.running) void this.pump();
  }

  /** Cancels the running task and drops the queued ones; returns the task that was running. */
  cancel(): Task | null {
    const task = this.running;
    if (!task) return null;
    task.cancelled = true;
    this.queue.length = 0;
    return task;
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const { task, run } = this.queue.shift()!;
      this.running = task;
      this.events.busy(task.label);
      try {
        await run(task);
      } catch (e) {
        if (!task.cancelled) this.events.failed(task, e);
      }
      this.running = null;
    }
    this.events.busy(null);
  }
}

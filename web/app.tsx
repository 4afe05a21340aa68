import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from "react";
import {
  createTasksClient,
  isVersionConflict,
  type TaskFieldsFragment,
  type TaskFilter,
  type TaskPriority,
} from "../client/index.js";
import {
  isPending,
  TasksApiProvider,
  useCreateLabel,
  useCreateTask,
  useDeleteLabel,
  useDeleteTask,
  useLabels,
  useLiveTasks,
  useSetTaskCompleted,
  useTaskList,
  useUpdateLabel,
  useUpdateTask,
  useViewer,
} from "../client/react.js";
import { devSignIn, loadSession, type Session, saveSession } from "./session.js";

const priorities: TaskPriority[] = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"];

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const queryClient = useQueryClient();
  const signIn = (next: Session | null) => {
    // Nothing of one user's stays in the cache for the next.
    queryClient.clear();
    saveSession(next);
    setSession(next);
  };
  const client = useMemo(() => {
    if (!session) return null;
    let current = session;
    return createTasksClient({
      token: async ({ refresh }) => {
        // A development session signs in again for the same user when its token runs out.
        if (refresh && current.user) {
          current = await devSignIn(current.user);
          saveSession(current);
        }
        return current.token;
      },
    });
  }, [session]);
  useEffect(() => () => client?.dispose(), [client]);

  if (!session || !client) return <SignIn onSignedIn={signIn} />;
  return (
    <TasksApiProvider client={client}>
      <Tasks onSignOut={() => signIn(null)} />
    </TasksApiProvider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [user, setUser] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await devSignIn(user.trim()));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <h1>tasks-api</h1>
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <p id="sign-in-help">Development sign-in: any user name works while the server uses its local secret.</p>
        <label htmlFor="user">User name</label>
        <input id="user" value={user} onChange={(e) => setUser(e.target.value)} required autoComplete="username" />
        <button type="submit" disabled={busy || user.trim() === ""}>
          Sign in
        </button>
      </form>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onSignedIn({ token: token.trim() });
        }}
      >
        <label htmlFor="token">Or a bearer token from your auth service</label>
        <textarea id="token" value={token} onChange={(e) => setToken(e.target.value)} rows={3} />
        <button type="submit" disabled={token.trim() === ""}>
          Use token
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </main>
  );
}

type DueFilter = "any" | "overdue" | "today" | "has" | "none";

function filterOf(state: {
  status: "ALL" | "OPEN" | "COMPLETED";
  due: DueFilter;
  priority: TaskPriority | "any";
  label: string;
  search: string;
}): TaskFilter {
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return {
    status: state.status,
    timeZone,
    ...(state.due === "overdue" ? { overdue: true } : {}),
    ...(state.due === "today" ? { dueOn: today() } : {}),
    ...(state.due === "has" ? { hasDueDate: true } : {}),
    ...(state.due === "none" ? { hasDueDate: false } : {}),
    ...(state.priority !== "any" ? { priorities: [state.priority] } : {}),
    ...(state.label !== "" ? { labels: { anyOf: [state.label] } } : {}),
    ...(state.search.trim() !== "" ? { search: state.search.trim() } : {}),
  };
}

function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function Tasks({ onSignOut }: { onSignOut: () => void }) {
  const viewer = useViewer();
  const [status, setStatus] = useState<"ALL" | "OPEN" | "COMPLETED">("ALL");
  const [due, setDue] = useState<DueFilter>("any");
  const [priority, setPriority] = useState<TaskPriority | "any">("any");
  const [label, setLabel] = useState("");
  const [searchInput, setSearchInput] = useState("");
  const [search, setSearch] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setSearch(searchInput), 250);
    return () => clearTimeout(timer);
  }, [searchInput]);
  const filter = filterOf({ status, due, priority, label, search });
  const list = useTaskList({ filter, pageSize: 50 });
  const live = useLiveTasks({ from: list.changeCursor });
  const labels = useLabels();

  if (viewer.error?.code === "UNAUTHENTICATED") {
    return (
      <main className="sign-in">
        <p role="alert" className="error">
          Your session has ended: {viewer.error.message}
        </p>
        <button type="button" onClick={onSignOut}>
          Sign in again
        </button>
      </main>
    );
  }

  return (
    <div className="app">
      <header>
        <h1>Tasks</h1>
        <p className="who">
          {viewer.data ? `Signed in as ${viewer.data.viewer.name ?? viewer.data.viewer.id}` : "Signing in…"}
          <span className={`live live-${live.status}`} role="status" aria-label={`Live updates: ${live.status}`}>
            {live.status === "live" ? "● live" : `○ ${live.status}`}
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </p>
      </header>

      <NewTask />

      <section aria-label="Filters" className="filters">
        <Select label="Status" value={status} onChange={(v) => setStatus(v as typeof status)}>
          <option value="ALL">All</option>
          <option value="OPEN">Open</option>
          <option value="COMPLETED">Done</option>
        </Select>
        <Select label="Due" value={due} onChange={(v) => setDue(v as DueFilter)}>
          <option value="any">Any time</option>
          <option value="overdue">Overdue</option>
          <option value="today">Due today</option>
          <option value="has">With a due date</option>
          <option value="none">Without a due date</option>
        </Select>
        <Select label="Priority" value={priority} onChange={(v) => setPriority(v as TaskPriority | "any")}>
          <option value="any">Any priority</option>
          {priorities.map((p) => (
            <option key={p} value={p}>
              {p.toLowerCase()}
            </option>
          ))}
        </Select>
        <Select label="Label" value={label} onChange={setLabel}>
          <option value="">Any label</option>
          {(labels.data ?? []).map((l) => (
            <option key={l.id} value={l.name}>
              {l.name} ({l.taskCount})
            </option>
          ))}
        </Select>
        <label className="search">
          Search
          <input type="search" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} />
        </label>
      </section>

      <section aria-label="Tasks" aria-busy={list.isFetching}>
        {list.isPending ? (
          <p className="state">Loading tasks…</p>
        ) : list.isError ? (
          <p role="alert" className="error">
            Could not load tasks: {list.error.message}{" "}
            <button type="button" onClick={() => void list.refetch()}>
              Try again
            </button>
          </p>
        ) : list.tasks.length === 0 ? (
          <p className="state">No tasks here yet.</p>
        ) : (
          <>
            <p className="count">{list.totalCount === 1 ? "1 task" : `${list.totalCount} tasks`}</p>
            <ul className="tasks">
              {list.tasks.map((task) => (
                <TaskItem key={task.id} task={task} />
              ))}
            </ul>
            {list.hasNextPage && (
              <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
                {list.isFetchingNextPage ? "Loading…" : "Show more"}
              </button>
            )}
          </>
        )}
      </section>

      <Labels />
    </div>
  );
}

function Select({
  label,
  value,
  onChange,
  children,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  children: React.ReactNode;
}) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {children}
      </select>
    </span>
  );
}

/** "a, b" -> ["a", "b"] */
function namesOf(text: string): string[] {
  return text
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
}

function NewTask() {
  const create = useCreateTask();
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [dueDate, setDueDate] = useState("");
  const [priority, setPriority] = useState<TaskPriority>("NONE");
  const [labels, setLabels] = useState("");
  const titleNow = useRef(title);
  titleNow.current = title;
  const fill = (values: {
    title: string;
    description: string;
    dueDate: string;
    priority: TaskPriority;
    labels: string;
  }) => {
    setTitle(values.title);
    setDescription(values.description);
    setDueDate(values.dueDate);
    setPriority(values.priority);
    setLabels(values.labels);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const typed = { title, description, dueDate, priority, labels };
    // The task shows at once (pending): the form is free for the next one straight away.
    fill({ title: "", description: "", dueDate: "", priority: "NONE", labels: "" });
    create.mutate(
      {
        title: typed.title,
        ...(typed.description.trim() ? { description: typed.description } : {}),
        ...(typed.dueDate ? { due: { date: typed.dueDate } } : {}),
        priority: typed.priority,
        labels: namesOf(typed.labels),
      },
      // Refused: what was typed comes back to be corrected, unless a next task is being typed.
      {
        onError: () => {
          if (titleNow.current === "") fill(typed);
        },
      },
    );
  };
  return (
    <form className="new-task" onSubmit={submit} aria-label="New task">
      <Field label="Title">
        {(id) => <input id={id} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />}
      </Field>
      <Field label="Description">
        {(id) => (
          <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} />
        )}
      </Field>
      <Field label="Due date">
        {(id) => <input id={id} type="date" value={dueDate} onChange={(e) => setDueDate(e.target.value)} />}
      </Field>
      <PriorityField value={priority} onChange={setPriority} />
      <Field label="Labels (comma-separated)">
        {(id) => <input id={id} value={labels} onChange={(e) => setLabels(e.target.value)} />}
      </Field>
      <button type="submit" disabled={create.isPending || title.trim() === ""}>
        Add task
      </button>
      {create.isError && (
        <p role="alert" className="error">
          {create.error.message}
        </p>
      )}
    </form>
  );
}

function Field({ label, children }: { label: string; children: (id: string) => React.ReactNode }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </span>
  );
}

function dueText(task: TaskFieldsFragment): string | null {
  if (task.dueDate) return `due ${task.dueDate}`;
  if (task.dueAt) return `due ${new Date(task.dueAt).toLocaleString()}`;
  return null;
}

function TaskItem({ task }: { task: TaskFieldsFragment }) {
  const complete = useSetTaskCompleted();
  // The box follows the click at once; the cache (optimistic, then the service's answer) takes over after.
  const [clicked, setClicked] = useState<boolean | null>(null);
  const remove = useDeleteTask();
  const [editing, setEditing] = useState(false);
  // Closing the editor (save, cancel, Escape) puts keyboard focus back on this task's Edit button.
  const editButton = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);
  useEffect(() => {
    if (wasEditing.current && !editing) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);
  const error = complete.error ?? remove.error;
  const due = dueText(task);
  // Shown at once when added; it can be changed once the service has it.
  const saving = isPending(task);
  return (
    <li className={task.isCompleted ? "task done" : "task"} data-task-id={task.id} aria-busy={saving}>
      {editing ? (
        <EditTask task={task} onDone={() => setEditing(false)} />
      ) : (
        <>
          <input
            type="checkbox"
            checked={clicked ?? task.isCompleted}
            disabled={saving}
            aria-label={`Done: ${task.title}`}
            onChange={(e) => {
              const completed = e.target.checked;
              setClicked(completed);
              complete.mutate(
                { id: task.id, completed, expectedVersion: task.version },
                { onSettled: () => setClicked(null) },
              );
            }}
          />
          <div className="body">
            <span className="title">{task.title}</span>
            {task.description && <span className="description">{task.description}</span>}
            <span className="meta">
              {task.priority !== "NONE" && (
                <span className={`priority priority-${task.priority}`}>{task.priority.toLowerCase()}</span>
              )}
              {due && <span className="due">{due}</span>}
              {task.labels.map((label) => (
                <span key={label.id} className="label" style={label.color ? { borderColor: label.color } : undefined}>
                  {label.name}
                </span>
              ))}
            </span>
          </div>
          <button
            type="button"
            ref={editButton}
            onClick={() => setEditing(true)}
            aria-label={`Edit ${task.title}`}
            disabled={saving}
          >
            Edit
          </button>
          <button
            type="button"
            disabled={saving}
            onClick={(event) => {
              // The task leaves the list: focus moves to the next one's checkbox (or the previous one's).
              const item = event.currentTarget.closest("li");
              const neighbour = item?.nextElementSibling ?? item?.previousElementSibling;
              neighbour?.querySelector<HTMLElement>("input, button")?.focus();
              remove.mutate({ id: task.id, expectedVersion: task.version });
            }}
            aria-label={`Delete ${task.title}`}
          >
            Delete
          </button>
        </>
      )}
      {error && (
        <p role="alert" className="error">
          {isVersionConflict(error)
            ? "This task was changed elsewhere; it now shows the latest version."
            : error.message}
        </p>
      )}
    </li>
  );
}

function EditTask({ task, onDone }: { task: TaskFieldsFragment; onDone: () => void }) {
  const update = useUpdateTask();
  // The version this edit started from: saving refuses (CONFLICT) if the task changed meanwhile.
  const [version] = useState(task.version);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const [dueDate, setDueDate] = useState(task.dueDate ?? "");
  const [priority, setPriority] = useState<TaskPriority>(task.priority);
  const [labels, setLabels] = useState(task.labels.map((label) => label.name).join(", "));
  // The Edit button that had focus is gone: keyboard focus moves to the form it opened.
  const titleInput = useRef<HTMLInputElement>(null);
  useEffect(() => titleInput.current?.focus(), []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate(
      {
        id: task.id,
        input: {
          title,
          description: description.trim() ? description : null,
          // Only a changed date is sent: a task due at a time keeps it unless a date replaces it.
          ...(dueDate === (task.dueDate ?? "") ? {} : { due: dueDate ? { date: dueDate } : null }),
          priority,
          labels: namesOf(labels),
          expectedVersion: version,
        },
      },
      { onSuccess: onDone },
    );
  };
  return (
    <form
      className="edit-task"
      onSubmit={submit}
      aria-label={`Edit ${task.title}`}
      onKeyDown={(event: KeyboardEvent) => {
        if (event.key === "Escape") onDone();
      }}
    >
      <Field label="Title">
        {(id) => <input id={id} ref={titleInput} value={title} onChange={(e) => setTitle(e.target.value)} required />}
      </Field>
      <Field label="Description">
        {(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <Field label="Due date">
        {(id) => <input id={id} type="date" value={dueDate} onChange={(e) => setDueDate(e.target.value)} />}
      </Field>
      {task.dueAt && dueDate === "" && <span className="meta">{dueText(task)} (a date replaces it)</span>}
      <PriorityField value={priority} onChange={setPriority} />
      <Field label="Labels (comma-separated)">
        {(id) => <input id={id} value={labels} onChange={(e) => setLabels(e.target.value)} />}
      </Field>
      <button type="submit" disabled={update.isPending}>
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      {update.isError && (
        <p role="alert" className="error">
          {isVersionConflict(update.error)
            ? "Someone changed this task while you were editing it. Cancel to see their version, then edit again."
            : update.error.message}
        </p>
      )}
    </form>
  );
}

function Labels() {
  const labels = useLabels();
  const create = useCreateLabel();
  const [name, setName] = useState("");
  return (
    <section aria-label="Labels" className="labels">
      <h2>Labels</h2>
      {labels.isPending ? (
        <p className="state">Loading labels…</p>
      ) : labels.isError ? (
        <p role="alert" className="error">
          Could not load labels: {labels.error.message}
        </p>
      ) : labels.data.length === 0 ? (
        <p className="state">No labels yet.</p>
      ) : (
        <ul>
          {labels.data.map((label) => (
            <LabelItem key={label.id} label={label} />
          ))}
        </ul>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate({ name: name.trim() }, { onSuccess: () => setName("") });
        }}
      >
        <Field label="New label">
          {(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <button type="submit" disabled={name.trim() === "" || create.isPending}>
          Add label
        </button>
        {create.isError && (
          <p role="alert" className="error">
            {create.error.message}
          </p>
        )}
      </form>
    </section>
  );
}

function LabelItem({ label }: { label: { id: string; name: string; taskCount: number } }) {
  const rename = useUpdateLabel();
  const remove = useDeleteLabel();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(label.name);
  const error = rename.error ?? remove.error;
  return (
    <li className="label-item">
      {editing ? (
        <form
          aria-label={`Rename label ${label.name}`}
          onSubmit={(event) => {
            event.preventDefault();
            rename.mutate({ id: label.id, input: { name: name.trim() } }, { onSuccess: () => setEditing(false) });
          }}
          onKeyDown={(event: KeyboardEvent) => {
            if (event.key === "Escape") setEditing(false);
          }}
        >
          <Field label="Label name">
            {(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}
          </Field>
          <button type="submit" disabled={rename.isPending || name.trim() === ""}>
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          <span>
            {label.name} <span className="count">({label.taskCount})</span>
          </span>
          <button
            type="button"
            aria-label={`Rename label ${label.name}`}
            onClick={() => {
              setName(label.name);
              setEditing(true);
            }}
          >
            Rename
          </button>
          <button
            type="button"
            aria-label={`Delete label ${label.name}`}
            disabled={remove.isPending}
            onClick={() => remove.mutate({ id: label.id })}
          >
            Delete
          </button>
        </>
      )}
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
    </li>
  );
}

/** The priority of a task being added or edited. */
function PriorityField({ value, onChange }: { value: TaskPriority; onChange: (value: TaskPriority) => void }) {
  return (
    <Field label="Priority">
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value as TaskPriority)}>
          {priorities.map((p) => (
            <option key={p} value={p}>
              {p.toLowerCase()}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

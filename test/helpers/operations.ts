import { graphql } from "../gql/index.js";

/**
 * The typed operations the tests send, each written once. Most spread
 * `TaskFields`; the few that select less do so on purpose (what a request
 * costs in SQL, or an answer compared field for field).
 */

graphql(`
  fragment TaskFields on Task {
    id
    title
    description
    isCompleted
    completedAt
    createdAt
    updatedAt
    version
    dueDate
    dueAt
    priority
    labels {
      id
      name
      color
    }
    owner {
      id
      email
    }
  }
`);

graphql(`
  fragment TaskPageFields on TaskConnection {
    totalCount
    edges {
      cursor
      node {
        ...TaskFields
      }
    }
    pageInfo {
      hasNextPage
      hasPreviousPage
      startCursor
      endCursor
    }
  }
`);

export const CreateTask = graphql(`
  mutation CreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...TaskFields
    }
  }
`);

export const GetTask = graphql(`
  query GetTask($id: ID!) {
    task(id: $id) {
      ...TaskFields
    }
  }
`);

export const UpdateTask = graphql(`
  mutation UpdateTask($id: ID!, $input: UpdateTaskInput!) {
    updateTask(id: $id, input: $input) {
      ...TaskFields
    }
  }
`);

export const SetTaskCompleted = graphql(`
  mutation SetTaskCompleted($id: ID!, $completed: Boolean!, $expectedVersion: Int) {
    setTaskCompleted(id: $id, completed: $completed, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const ToggleTaskCompleted = graphql(`
  mutation ToggleTaskCompleted($id: ID!, $expectedVersion: Int) {
    toggleTaskCompleted(id: $id, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const DeleteTask = graphql(`
  mutation DeleteTask($id: ID!, $expectedVersion: Int) {
    deleteTask(id: $id, expectedVersion: $expectedVersion) {
      deletedTaskId
    }
  }
`);

/** A page of `tasks`, with every argument. */
export const ListTasks = graphql(`
  query ListTasks($first: Int, $after: String, $last: Int, $before: String, $filter: TaskFilter, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      ...TaskPageFields
    }
  }
`);

/** ListTasks with the change cursor of the same snapshot: the hot list is then read in one statement. */
export const ListTasksAtHead = graphql(`
  query ListTasksAtHead($first: Int, $after: String, $last: Int, $before: String, $filter: TaskFilter, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      changeCursor
      ...TaskPageFields
    }
  }
`);

/** The same page through `tasks` and through `viewer.tasks`, which must agree. */
export const ListTasksWithViewer = graphql(`
  query ListTasksWithViewer(
    $first: Int
    $after: String
    $last: Int
    $before: String
    $filter: TaskFilter
    $orderBy: TaskOrder
  ) {
    tasks(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      ...TaskPageFields
    }
    viewer {
      id
      email
      tasks(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
        totalCount
        edges {
          cursor
          node {
            ...TaskFields
          }
        }
      }
    }
  }
`);

export const ViewerId = graphql(`
  query ViewerId {
    viewer {
      id
    }
  }
`);

/** The viewer and their tasks, each with its owner. */
export const ViewerWithTasks = graphql(`
  query ViewerWithTasks($first: Int) {
    viewer {
      id
      email
      name
      tasks(first: $first) {
        totalCount
        edges {
          node {
            id
            title
            owner {
              id
            }
          }
        }
      }
    }
  }
`);

// --- Small selections, for what a request costs in SQL and for exact answers ---

/** Only columns of the tasks table: no owner, no count. */
export const GetTaskTitle = graphql(`
  query GetTaskTitle($id: ID!) {
    task(id: $id) {
      id
      title
    }
  }
`);

/** Only columns of the tasks table: no owner, no count. */
export const ListTaskTitles = graphql(`
  query ListTaskTitles($first: Int, $last: Int) {
    tasks(first: $first, last: $last) {
      edges {
        node {
          id
          title
        }
      }
    }
  }
`);

export const ToggleTaskCompletedBrief = graphql(`
  mutation ToggleTaskCompletedBrief($id: ID!) {
    toggleTaskCompleted(id: $id) {
      id
      isCompleted
      version
    }
  }
`);

// --- Labels --------------------------------------------------------------------

graphql(`
  fragment LabelFields on Label {
    id
    name
    color
    taskCount
    createdAt
    updatedAt
  }
`);

export const ListLabels = graphql(`
  query ListLabels {
    labels {
      ...LabelFields
    }
  }
`);

export const GetLabel = graphql(`
  query GetLabel($id: ID!) {
    label(id: $id) {
      ...LabelFields
    }
  }
`);

export const CreateLabel = graphql(`
  mutation CreateLabel($input: CreateLabelInput!) {
    createLabel(input: $input) {
      ...LabelFields
    }
  }
`);

export const UpdateLabel = graphql(`
  mutation UpdateLabel($id: ID!, $input: UpdateLabelInput!) {
    updateLabel(id: $id, input: $input) {
      ...LabelFields
    }
  }
`);

export const DeleteLabel = graphql(`
  mutation DeleteLabel($id: ID!) {
    deleteLabel(id: $id) {
      deletedLabelId
    }
  }
`);

export const AddTaskLabels = graphql(`
  mutation AddTaskLabels($id: ID!, $names: [String!]!, $expectedVersion: Int) {
    addTaskLabels(id: $id, names: $names, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const RemoveTaskLabels = graphql(`
  mutation RemoveTaskLabels($id: ID!, $names: [String!]!, $expectedVersion: Int) {
    removeTaskLabels(id: $id, names: $names, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

// --- Change feed -----------------------------------------------------------------

graphql(`
  fragment TaskEventFields on TaskEvent {
    cursor
    kind
    taskId
    version
    occurredAt
    task {
      ...TaskFields
    }
  }
`);

/** A page of tasks with the change cursor of the same snapshot. */
export const ListTasksWithChangeCursor = graphql(`
  query ListTasksWithChangeCursor($first: Int, $filter: TaskFilter) {
    tasks(first: $first, filter: $filter) {
      changeCursor
      totalCount
      edges {
        node {
          id
          title
          version
        }
      }
    }
  }
`);

export const TaskChanges = graphql(`
  query TaskChanges($after: String!, $first: Int) {
    taskChanges(after: $after, first: $first) {
      events {
        ...TaskEventFields
      }
      endCursor
      hasMore
    }
  }
`);

/** The live feed, as text for SSE and WebSocket clients. */
export const TaskEvents = graphql(`
  subscription TaskEvents($after: String) {
    taskEvents(after: $after) {
      ...TaskEventFields
    }
  }
`);

/** Only titles and the page's end: the list must still load what its cursors need (id and sort key). */
export const ListTitlesPaged = graphql(`
  query ListTitlesPaged($first: Int, $after: String, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, orderBy: $orderBy) {
      totalCount
      edges {
        node {
          title
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

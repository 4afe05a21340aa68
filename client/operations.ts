import { graphql } from "./gql/index.js";

/**
 * The canonical operations of a task UI, in one place. `npm run generate`
 * (codegen.ts) turns each into a typed document in client/gql/ and lists it
 * in client/gql/persisted-documents.json, the trusted documents. The hooks
 * (react.tsx) run these and only these.
 */

export const LabelFields = graphql(`
  fragment LabelFields on Label {
    id
    name
    color
    taskCount
  }
`);

export const TaskFields = graphql(`
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
  }
`);

export const TaskEventFields = graphql(`
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

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      email
      name
    }
  }
`);

export const TasksQuery = graphql(`
  query Tasks($first: Int!, $after: String, $filter: TaskFilter, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      changeCursor
      totalCount
      edges {
        cursor
        node {
          ...TaskFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const TaskQuery = graphql(`
  query Task($id: ID!) {
    task(id: $id) {
      ...TaskFields
    }
  }
`);

export const LabelsQuery = graphql(`
  query Labels {
    labels {
      ...LabelFields
    }
  }
`);

export const TaskChangesQuery = graphql(`
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

export const CreateTaskMutation = graphql(`
  mutation CreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...TaskFields
    }
  }
`);

export const UpdateTaskMutation = graphql(`
  mutation UpdateTask($id: ID!, $input: UpdateTaskInput!) {
    updateTask(id: $id, input: $input) {
      ...TaskFields
    }
  }
`);

export const SetTaskCompletedMutation = graphql(`
  mutation SetTaskCompleted($id: ID!, $completed: Boolean!, $expectedVersion: Int) {
    setTaskCompleted(id: $id, completed: $completed, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const ToggleTaskCompletedMutation = graphql(`
  mutation ToggleTaskCompleted($id: ID!, $expectedVersion: Int) {
    toggleTaskCompleted(id: $id, expectedVersion: $expectedVersion) {
      ...TaskFields
    }
  }
`);

export const DeleteTaskMutation = graphql(`
  mutation DeleteTask($id: ID!, $expectedVersion: Int) {
    deleteTask(id: $id, expectedVersion: $expectedVersion) {
      deletedTaskId
    }
  }
`);

export const CreateLabelMutation = graphql(`
  mutation CreateLabel($input: CreateLabelInput!) {
    createLabel(input: $input) {
      ...LabelFields
    }
  }
`);

export const UpdateLabelMutation = graphql(`
  mutation UpdateLabel($id: ID!, $input: UpdateLabelInput!) {
    updateLabel(id: $id, input: $input) {
      ...LabelFields
    }
  }
`);

export const DeleteLabelMutation = graphql(`
  mutation DeleteLabel($id: ID!) {
    deleteLabel(id: $id) {
      deletedLabelId
    }
  }
`);

export const TaskEventsSubscription = graphql(`
  subscription TaskEvents($after: String) {
    taskEvents(after: $after) {
      ...TaskEventFields
    }
  }
`);

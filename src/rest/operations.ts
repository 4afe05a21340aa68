import { graphql } from "../gql/index.js";

/**
 * The GraphQL operations behind the six REST routes. The REST layer runs
 * exactly these against the same schema, so the two APIs share validation,
 * authorization and errors.
 */

export const RestTaskFields = graphql(`
  fragment RestTaskFields on Task {
    id
    ownerId
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
      name
    }
  }
`);

export const ListTasks = graphql(`
  query RestListTasks($first: Int!, $after: String, $filter: TaskFilter, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      changeCursor
      totalCount
      edges {
        node {
          ...RestTaskFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const GetTask = graphql(`
  query RestGetTask($id: ID!) {
    task(id: $id) {
      ...RestTaskFields
    }
  }
`);

export const CreateTask = graphql(`
  mutation RestCreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...RestTaskFields
    }
  }
`);

export const UpdateTask = graphql(`
  mutation RestUpdateTask($id: ID!, $input: UpdateTaskInput!) {
    updateTask(id: $id, input: $input) {
      ...RestTaskFields
    }
  }
`);

export const SetTaskCompleted = graphql(`
  mutation RestSetTaskCompleted($id: ID!, $completed: Boolean!, $expectedVersion: Int) {
    setTaskCompleted(id: $id, completed: $completed, expectedVersion: $expectedVersion) {
      ...RestTaskFields
    }
  }
`);

export const ToggleTaskCompleted = graphql(`
  mutation RestToggleTaskCompleted($id: ID!, $expectedVersion: Int) {
    toggleTaskCompleted(id: $id, expectedVersion: $expectedVersion) {
      ...RestTaskFields
    }
  }
`);

export const DeleteTask = graphql(`
  mutation RestDeleteTask($id: ID!, $expectedVersion: Int) {
    deleteTask(id: $id, expectedVersion: $expectedVersion) {
      deletedTaskId
    }
  }
`);

export const TaskChanges = graphql(`
  query RestTaskChanges($after: String!, $first: Int) {
    taskChanges(after: $after, first: $first) {
      events {
        cursor
        kind
        taskId
        version
        occurredAt
        task {
          ...RestTaskFields
        }
      }
      endCursor
      hasMore
    }
  }
`);

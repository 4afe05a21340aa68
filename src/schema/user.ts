import { ForbiddenError } from "../errors.js";
import { builder } from "./builder.js";
import { resolveTaskList, TaskConnection, taskListArgs, taskListDescription } from "./task.js";

builder.prismaObject("User", {
  description: "A person known to the auth service. Only the caller's own user can be read.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The auth service's user id (the token's `sub`)." }),
    email: t.exposeString("email", { nullable: true, description: "From the latest token's `email` claim." }),
    name: t.exposeString("name", { nullable: true, description: "From the latest token's `name` claim." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the user first called the service." }),
    tasks: t.withAuth({ loggedIn: true }).field({
      type: TaskConnection,
      description: taskListDescription,
      args: taskListArgs(t.arg),
      resolve: (user, args, context, info) => {
        // Only the caller's own User is reachable, but make sure of it here too.
        if (user.id !== context.viewer.id) throw new ForbiddenError("Only your own tasks can be listed.");
        return resolveTaskList(user.id, args, context, info);
      },
    }),
  }),
});

builder.queryField("viewer", (t) =>
  t.withAuth({ loggedIn: true }).prismaField({
    type: "User",
    description: "The caller.",
    resolve: (query, _root, _args, context) =>
      context.prisma.user.findUniqueOrThrow({ ...query, where: { id: context.viewer.id } }),
  }),
);

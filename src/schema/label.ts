import { z } from "zod";
import { createLabel, deleteLabel, findLabel, listLabels, maxLabelsPerUser, updateLabel } from "../db/labels.js";
import { isStorableText } from "../text.js";
import { builder } from "./builder.js";

export const Label = builder.prismaObject("Label", {
  description:
    "One of the caller's own labels for tasks. Names are unique per user, ignoring case; renaming or deleting a label does so on every task.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "A UUID." }),
    name: t.exposeString("name", { description: "1 to 50 characters, as written when made or renamed." }),
    color: t.exposeString("color", { nullable: true, description: 'A color as "#rrggbb", or null.' }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    taskCount: t.relationCount("tasks", { description: "How many of the caller's tasks carry it." }),
  }),
});

/** A label's name: trimmed, 1 to 50 characters, no commas (REST lists names with commas). */
export const labelName = z
  .string()
  .trim()
  .min(1, "A label name must not be empty.")
  .max(50, "A label name must be at most 50 characters.")
  .refine((name) => !name.includes(","), "A label name must not contain a comma.")
  .refine(isStorableText, "Must be text without NUL characters or unpaired surrogates.");

const color = z
  .string()
  .regex(/^#[0-9a-f]{6}$/i, 'Must be a color as "#rrggbb", e.g. "#3b82f6".')
  .transform((value) => value.toLowerCase());

const labelId = z.string().refine((value) => /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(value), {
  message: "Must be a label id (a UUID).",
});

const CreateLabelInput = builder.inputType("CreateLabelInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "1 to 50 characters, no commas; unique ignoring case." }),
    color: t.string({ description: '"#rrggbb", or none.' }),
  }),
  validate: z.object({ name: labelName, color: color.nullish() }),
});

const UpdateLabelInput = builder.inputType("UpdateLabelInput", {
  description: "The fields to change; omitted ones stay. Setting `color` to null removes it.",
  fields: (t) => ({
    name: t.string({ description: "A new name: every task carrying the label shows it." }),
    color: t.string(),
  }),
  validate: z
    .object({ name: labelName.nullish(), color: color.nullish() })
    .refine((input) => input.name != null || input.color !== undefined, {
      message: "Give at least one of name, color.",
    }),
});

const DeleteLabelPayload = builder.objectRef<{ id: string }>("DeleteLabelPayload").implement({
  description: "What a deletion did.",
  fields: (t) => ({
    deletedLabelId: t.exposeID("id", { description: "The id of the label that no longer exists." }),
  }),
});

builder.queryFields((t) => ({
  labels: t.withAuth({ loggedIn: true }).prismaField({
    type: [Label],
    description: `The caller's labels (at most ${maxLabelsPerUser}), by name.`,
    resolve: (query, _root, _args, context) => listLabels(context.prisma, context.viewer.id, query),
  }),
  label: t.withAuth({ loggedIn: true }).prismaField({
    type: Label,
    nullable: true,
    description: "One of the caller's labels by id, or null if the caller has no such label.",
    args: { id: t.arg.id({ required: true, validate: labelId }) },
    resolve: (query, _root, args, context) => findLabel(context.prisma, context.viewer.id, String(args.id), query),
  }),
}));

builder.mutationFields((t) => ({
  createLabel: t.withAuth({ loggedIn: true }).prismaField({
    type: Label,
    description: `Makes a label. A name the caller already has (ignoring case) is a CONFLICT; at most ${maxLabelsPerUser} labels.`,
    args: { input: t.arg({ type: CreateLabelInput, required: true }) },
    resolve: (query, _root, { input }, context) =>
      createLabel(context.prisma, context.viewer.id, { name: input.name, color: input.color ?? null }, query),
  }),
  updateLabel: t.withAuth({ loggedIn: true }).prismaField({
    type: Label,
    description: "Renames or recolors a label. Renaming raises the version of every task carrying it.",
    args: {
      id: t.arg.id({ required: true, validate: labelId }),
      input: t.arg({ type: UpdateLabelInput, required: true }),
    },
    resolve: (query, _root, { id, input }, context) =>
      updateLabel(
        context.prisma,
        context.viewer.id,
        String(id),
        { name: input.name ?? undefined, color: input.color },
        query,
      ),
  }),
  deleteLabel: t.withAuth({ loggedIn: true }).field({
    type: DeleteLabelPayload,
    description: "Deletes a label and takes it off every task carrying it (their versions go up).",
    args: { id: t.arg.id({ required: true, validate: labelId }) },
    resolve: (_root, { id }, context) => deleteLabel(context.prisma, context.viewer.id, String(id)),
  }),
}));

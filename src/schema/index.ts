import { lexicographicSortSchema } from "graphql";
import { builder } from "./builder.js";
import "./changes.js";
import "./label.js";
import "./task.js";
import "./user.js";

/** The whole API, with types and fields in a stable, sorted order. */
export const schema = lexicographicSortSchema(builder.toSchema());

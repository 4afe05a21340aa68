import pino, { type Logger } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/** JSON lines in production; colourised, one line per event in a terminal. */
export function createLogger(config: Pick<Config, "log">): Logger {
  return pino({
    level: config.log.level,
    base: null,
    ...(config.log.pretty
      ? {
          transport: {
            target: "pino-pretty",
            options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname", singleLine: true },
          },
        }
      : {}),
  });
}

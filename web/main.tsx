import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";

const queryClient = new QueryClient({
  defaultOptions: {
    // Live updates keep the cache current: no refetching on every focus.
    queries: { refetchOnWindowFocus: false, staleTime: 60_000, retry: 1 },
  },
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}

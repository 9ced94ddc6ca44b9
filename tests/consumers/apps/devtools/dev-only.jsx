// The panel mounted as the package README says, in development only: a production build must
// ship none of it.
import { FerrysyncDevtools } from "ferrysync/devtools";
import { FerrysyncProvider } from "ferrysync/react";
import { createRoot } from "react-dom/client";

createRoot(document.getElementById("root")).render(
  <FerrysyncProvider db={window.db}>
    <p>the app</p>
    {import.meta.env.DEV && <FerrysyncDevtools />}
  </FerrysyncProvider>,
);

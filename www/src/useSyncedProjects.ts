// The projects this device syncs, read from the sync status (`status().spaces`), so that a
// project turned on or off anywhere (this tab, another tab, the console) shows at once.
import { useMemo } from "react";
import { useSyncStatus } from "ferrysync/react";
import { projectsAmong, type Project } from "./projects";

export interface SyncedProjects {
  /** The known projects this device syncs, in the demo's order. */
  projects: Project[];
}

export function useSyncedProjects(): SyncedProjects {
  const { spaces } = useSyncStatus();
  return useMemo(() => {
    return { projects: projectsAmong(Object.keys(spaces)) };
  }, [spaces]);
}

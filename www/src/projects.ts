// The demo's projects. Each is a ferrysync space: a device syncs only the projects it turned on
// (`db.spaces`), plus the tasks of no project, which every device syncs.
export interface Project {
  /** The space id, stored in a task's `project` field: stable, never shown. */
  id: string;
  name: string;
}

export const PROJECTS: ReadonlyArray<Project> = [
  { id: "home", name: "Home" },
  { id: "work", name: "Work" },
  { id: "garden", name: "Garden" },
];

/** What a fresh device syncs until the person picks. */
export const DEFAULT_PROJECT = "home";

/** How a task's `project` reads: its project's name, "No project" for none (tasks made before
 * projects existed have no field), or the id itself for a project this version does not know. */
export function projectName(id: string | null | undefined): string {
  if (typeof id !== "string") return "No project";
  return PROJECTS.find((p) => p.id === id)?.name ?? id;
}

/** The known projects among `ids` (the spaces a device syncs), in the demo's order. */
export function projectsAmong(ids: ReadonlyArray<string>): Project[] {
  return PROJECTS.filter((p) => ids.includes(p.id));
}

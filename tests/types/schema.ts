// The record types both type checks use: interfaces (no index signature), one with an `id` of
// its own and a nested object, and the schema that names them.
export interface Task {
  title: string;
  done: boolean;
  createdAt: number;
  owner?: { name: string };
}

export interface Note {
  id: string;
  text: string;
  tags: string[];
}

export interface Schema {
  tasks: Task;
  notes: Note;
}

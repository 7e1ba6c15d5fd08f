import { z } from 'zod';

/**
 * The seven sensitive-metadata categories of the security model. One list, used
 * by every signal field, the policy, the preview and the docs.
 */
export const CATEGORIES = ['query_text', 'slowlog_args', 'current_ops', 'object_names', 'identity_metadata', 'client_metadata', 'config_posture'] as const;

export const CategorySchema = z.enum(CATEGORIES);
export type Category = z.infer<typeof CategorySchema>;

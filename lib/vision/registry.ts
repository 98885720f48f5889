import { PorchlightError } from '../errors';
import type { Detector, DetectorConfig, DetectorFactory } from './types';

export interface CreatedDetector {
  detector: Detector;
  /** Set when the requested detector could not load and another one stands in. */
  fallbackFrom?: string;
  warning?: string;
}

/**
 * Detector kinds by name. `create` loads the requested detector and, if it
 * cannot load, falls back to the first registered one that can, saying so.
 */
export class DetectorRegistry {
  private readonly factories = new Map<string, DetectorFactory>();

  register(factory: DetectorFactory): void {
    if (this.factories.has(factory.name)) throw new PorchlightError('CONFLICT', `detector "${factory.name}" is already registered`);
    this.factories.set(factory.name, factory);
  }

  list(): Array<Pick<DetectorFactory, 'name' | 'backend' | 'description'>> {
    return [...this.factories.values()].map(({ name, backend, description }) => ({ name, backend, description }));
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  private factory(name: string): DetectorFactory {
    const factory = this.factories.get(name);
    if (!factory) {
      throw new PorchlightError('UNKNOWN_DETECTOR', `unknown detector "${name}"; available: ${[...this.factories.keys()].join(', ')}`);
    }
    return factory;
  }

  /** Creates and loads a detector; unknown names and invalid configs fail without fallback. */
  async create(name: string, config: DetectorConfig = {}, options: { fallback?: boolean } = {}): Promise<CreatedDetector> {
    const factory = this.factory(name);
    const detector = factory.create(factory.validateConfig(config));
    try {
      await detector.load();
      return { detector };
    } catch (err) {
      detector.dispose();
      if (options.fallback === false) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      for (const other of this.factories.values()) {
        if (other.name === name) continue;
        const candidate = other.create(other.validateConfig({}));
        try {
          await candidate.load();
          return { detector: candidate, fallbackFrom: name, warning: `detector "${name}" unavailable (${reason}); using "${other.name}"` };
        } catch {
          candidate.dispose();
        }
      }
      throw new PorchlightError('MODEL_UNAVAILABLE', `detector "${name}" unavailable (${reason}) and no other detector loads`);
    }
  }
}

import { describe, expect, it } from 'vitest';
import { sqliteFileOf } from '../../../src/drivers/sqlite.js';

describe('sqliteFileOf', () => {
  it.each([
    ['sqlite://celeriac.db', 'celeriac.db'], // celeriac's default broker URL: host part as a relative file
    ['sqlite://', 'celeriac.db'],
    ['sqlite:///', 'celeriac.db'],
    ['sqlite:///relative.db', 'relative.db'], // SQLAlchemy: three slashes = relative
    ['sqlite:///sub/dir/x.db', 'sub/dir/x.db'],
    ['sqlite:////abs/path.db', '/abs/path.db'], // SQLAlchemy: four slashes = absolute
    ['sqlite://data/x.db', 'data/x.db'],
    ['sqlite://:memory:', ':memory:'],
    ['sqlite:///:memory:', ':memory:'],
    ['db+sqlite:///results.db', 'results.db'],
    ['sqla+sqlite:////var/lib/celery/broker.db', '/var/lib/celery/broker.db'],
    ['sqlite:///my%20file.db', 'my file.db'],
    ['sqlite:///x.db?timeout=5', 'x.db'],
    ['SQLITE://Upper.db', 'Upper.db'],
  ])('%s → %s', (url, file) => {
    expect(sqliteFileOf(url)).toBe(file);
  });
});
